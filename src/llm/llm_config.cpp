#include "ragd/llm/llm_config.hpp"

namespace ragd {

void describe(ConfigFields& f, LlmConfig& c) {
  f.field("base_url", c.base_url, "RAGD_LLM_BASE_URL");
  f.field("model", c.model, "RAGD_LLM_MODEL");
  f.field("api_key", c.api_key, "RAGD_LLM_API_KEY");
  f.field("timeout_ms", c.timeout_ms, "RAGD_LLM_TIMEOUT_MS");
  f.field("max_tokens", c.max_tokens);
  f.field("temperature", c.temperature);
  f.field("max_attempts", c.max_attempts);
  f.field("max_idle_connections", c.max_idle_connections);
  f.check(c.timeout_ms > 0, "timeout_ms", "must be positive");
  f.check(c.max_attempts >= 1 && c.max_attempts <= 20, "max_attempts", "must be 1..20");
  f.check(c.max_idle_connections >= 0 && c.max_idle_connections <= 65536, "max_idle_connections",
          "must be 0..65536");
  f.check(is_http_url_or_empty(c.base_url), "base_url", "must start with http:// or https://");
}

}  // namespace ragd
