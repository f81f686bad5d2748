#include "ragd/http/gateway_config.hpp"

#include "ragd/core/config_file.hpp"

namespace ragd {

void describe(ConfigFields& f, GatewayConfig& c) {
  f.section("server", [&](ConfigFields& s) { describe(s, c.server); });
  f.section("redis", [&](ConfigFields& s) { describe(s, c.redis); });
  f.section("auth", [&](ConfigFields& s) { describe(s, c.auth); });
  f.section("query", [&](ConfigFields& s) { describe(s, c.query); });
  f.section("retrieval", [&](ConfigFields& s) { describe(s, c.retrieval); });
  f.section("profile", [&](ConfigFields& s) { describe(s, c.profile); });
  f.section("queue", [&](ConfigFields& s) { describe(s, c.queue); });
  f.section("rules", [&](ConfigFields& s) { describe(s, c.rules); });
  f.section("readiness", [&](ConfigFields& s) { describe(s, c.readiness); });
  f.section("cache", [&](ConfigFields& s) { describe(s, c.cache); });
  f.section("log", [&](ConfigFields& s) { describe(s, c.log); });
  f.field("model", c.model, "RAGD_LLM_MODEL");
}

void before_read(GatewayConfig& c) { follow_key_prefix(c.queue, c.redis.key_prefix, /*after_read=*/false); }
void after_read(GatewayConfig& c) { follow_key_prefix(c.queue, c.redis.key_prefix, /*after_read=*/true); }

Result<GatewayConfig> parse_gateway_config(const std::string& text) { return parse_config_file_text<GatewayConfig>(text); }
Result<GatewayConfig> load_gateway_config(const std::string& path) { return load_config_file<GatewayConfig>(path); }
Result<void> validate(const GatewayConfig& c) { return validate_config_file(c); }
Result<void> apply_gateway_env(GatewayConfig& c) { return apply_config_file_env(c); }
std::vector<ConfigEnvVariable> gateway_env_variables() { return config_file_env_variables<GatewayConfig>(); }

}  // namespace ragd
