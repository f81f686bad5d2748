// ragd's whole configuration: the sections of the modules the gateway runs, each declared
// by its module (server, readiness, auth and query here; redis, retrieval, profile, queue, rules,
// cache, log below), and the model its jobs ask for. Parsed once at start; plain values.
#pragma once

#include "ragd/cache/cache_config.hpp"
#include "ragd/core/config_fields.hpp"
#include "ragd/http/http_config.hpp"
#include "ragd/log/log_config.hpp"
#include "ragd/profile/profile_config.hpp"
#include "ragd/queue/queue_config.hpp"
#include "ragd/redis/redis_config.hpp"
#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/rules/rules_config.hpp"

#include <string>

namespace ragd {

struct GatewayConfig {
  ServerConfig server;
  ReadinessConfig readiness;
  RedisConfig redis;
  AuthConfig auth;
  QueryConfig query;
  RetrievalConfig retrieval;
  ProfileConfig profile;
  QueueConfig queue;
  RulesConfig rules;
  CacheConfig cache;
  LogConfig log;
  std::string model;  // model requested on jobs and part of cache keys; "" = the worker's own
};

void describe(ConfigFields& f, GatewayConfig& c);

// Parse JSON text (comments allowed); errors name the offending key path.
Result<GatewayConfig> parse_gateway_config(const std::string& text);
// Read a file and parse it; the error names the file.
Result<GatewayConfig> load_gateway_config(const std::string& path);
// Ranges and cross-field constraints (the listen address form among them).
Result<void> validate(const GatewayConfig& c);
// RAGD_* environment variables (documented in config/ragd.json and the README).
Result<void> apply_gateway_env(GatewayConfig& c);
// The variables apply_gateway_env() reads, each with the key it overrides (for --help and
// for checking deployment manifests).
std::vector<ConfigEnvVariable> gateway_env_variables();

}  // namespace ragd
