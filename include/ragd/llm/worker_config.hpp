// ragd-worker's whole configuration: the sections of the modules it runs (redis, queue,
// llm, log) and its own keys. Parsed once at start; plain values.
#pragma once

#include "ragd/core/config_fields.hpp"
#include "ragd/llm/llm_config.hpp"
#include "ragd/log/log_config.hpp"
#include "ragd/queue/queue_config.hpp"
#include "ragd/redis/redis_config.hpp"

#include <string>

namespace ragd {

struct WorkerConfig {
  RedisConfig redis;
  QueueConfig queue;
  LlmConfig llm;
  LogConfig log;
  int concurrency = 32;       // jobs in flight in one worker process
  std::string consumer_name;  // empty = hostname-pid
  int shutdown_grace_ms = 30000;  // on SIGTERM: jobs in flight may finish this long
  // HOST:PORT of the worker's /metrics, /healthz and /readyz; empty = not served.
  std::string metrics_listen;
};

void describe(ConfigFields& f, WorkerConfig& c);

// Parse JSON text (comments allowed); errors name the offending key path.
Result<WorkerConfig> parse_worker_config(const std::string& text);
// Read a file and parse it; the error names the file.
Result<WorkerConfig> load_worker_config(const std::string& path);
// Ranges and cross-field constraints.
Result<void> validate(const WorkerConfig& c);
// RAGD_* environment variables (documented in config/worker.json and the README).
Result<void> apply_worker_env(WorkerConfig& c);
// The variables apply_worker_env() reads, each with the key it overrides.
std::vector<ConfigEnvVariable> worker_env_variables();

}  // namespace ragd
