#include "ragd/llm/worker_config.hpp"

#include "ragd/core/config_file.hpp"

namespace ragd {

void describe(ConfigFields& f, WorkerConfig& c) {
  f.section("redis", [&](ConfigFields& s) { describe(s, c.redis); });
  f.section("queue", [&](ConfigFields& s) { describe(s, c.queue); });
  f.section("llm", [&](ConfigFields& s) { describe(s, c.llm); });
  f.section("log", [&](ConfigFields& s) { describe(s, c.log); });
  f.field("concurrency", c.concurrency, "RAGD_WORKER_CONCURRENCY");
  f.field("consumer_name", c.consumer_name);
  f.field("metrics_listen", c.metrics_listen, "RAGD_WORKER_METRICS_LISTEN");
  f.field("shutdown_grace_ms", c.shutdown_grace_ms);
  f.check(c.concurrency >= 1 && c.concurrency <= 4096, "concurrency", "must be 1..4096");
  f.check(c.shutdown_grace_ms >= 0, "shutdown_grace_ms", "must not be negative");
}

void before_read(WorkerConfig& c) { follow_key_prefix(c.queue, c.redis.key_prefix, /*after_read=*/false); }
void after_read(WorkerConfig& c) { follow_key_prefix(c.queue, c.redis.key_prefix, /*after_read=*/true); }

Result<WorkerConfig> parse_worker_config(const std::string& text) { return parse_config_file_text<WorkerConfig>(text); }
Result<WorkerConfig> load_worker_config(const std::string& path) { return load_config_file<WorkerConfig>(path); }
Result<void> validate(const WorkerConfig& c) { return validate_config_file(c); }
Result<void> apply_worker_env(WorkerConfig& c) { return apply_config_file_env(c); }
std::vector<ConfigEnvVariable> worker_env_variables() { return config_file_env_variables<WorkerConfig>(); }

}  // namespace ragd
