#include "ragd/http/http_config.hpp"

#include "ragd/auth/api_key.hpp"
#include "ragd/redis/tenant_keys.hpp"

namespace ragd {

namespace {

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

void describe_key(ConfigFields& f, ApiKeyConfig& k) {
  f.field("sha256", k.sha256);
  f.field("tenant", k.tenant);
  f.field("name", k.name);
  f.field("scopes", k.scopes);
  f.section("rate_limit", [&](ConfigFields& s) {
    if (s.pass() == ConfigFields::Pass::read && !k.rate_limit) k.rate_limit.emplace();
    if (k.rate_limit) describe(s, *k.rate_limit);
  });
  f.require(is_sha256_hex(k.sha256), "sha256", "must be 64 hex digits (SHA-256 of the key)");
  f.require(redis::valid_tenant(k.tenant), "tenant", std::string(redis::kTenantRule));
  std::string scopes;
  for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : ",") + s;
  auto parsed = auth::parse_scopes(scopes);
  f.require(parsed.has_value(), "scopes", parsed ? std::string() : parsed.error().message);
}

}  // namespace

void describe(ConfigFields& f, ServerConfig& c) {
  f.field("listen", c.listen, "RAGD_LISTEN");
  f.field("threads", c.threads, "RAGD_THREADS");
  f.field("max_connections", c.max_connections);
  f.field("header_limit_bytes", c.header_limit_bytes);
  f.field("body_limit_bytes", c.body_limit_bytes);
  f.field("read_timeout_ms", c.read_timeout_ms);
  f.field("idle_timeout_ms", c.idle_timeout_ms);
  f.field("request_timeout_ms", c.request_timeout_ms, "RAGD_REQUEST_TIMEOUT_MS");
  f.field("max_inflight", c.max_inflight);
  f.field("max_stream_buffer_bytes", c.max_stream_buffer_bytes);
  f.field("shutdown_grace_ms", c.shutdown_grace_ms);
  f.field("gateway_id", c.gateway_id);
  f.check(c.listen.find(':') != std::string::npos, "listen", "must be HOST:PORT, got '" + c.listen + "'");
  f.check(c.threads >= 0 && c.threads <= 256, "threads", "must be 0..256");
  f.check(c.max_connections > 0, "max_connections", "must be positive");
  f.check(c.header_limit_bytes >= 1024, "header_limit_bytes", "must be at least 1024");
  f.check(c.body_limit_bytes >= 1024, "body_limit_bytes", "must be at least 1024");
  f.check(c.read_timeout_ms > 0 && c.idle_timeout_ms > 0 && c.request_timeout_ms > 0, "",
          "timeouts must be positive");
  f.check(c.max_inflight > 0, "max_inflight", "must be positive");
  f.check(c.max_stream_buffer_bytes >= 1024 && c.max_stream_buffer_bytes <= (1u << 30), "max_stream_buffer_bytes",
          "must be 1024 to 1073741824");
  f.check(c.shutdown_grace_ms >= 0, "shutdown_grace_ms", "must not be negative");
}

void describe(ConfigFields& f, RateLimitConfig& c) {
  f.field("requests_per_second", c.requests_per_second);
  f.field("burst", c.burst);
  f.require(c.requests_per_second >= 0 && c.requests_per_second <= 1e6, "requests_per_second",
            "must be 0..1000000");
  f.require(c.burst >= 0 && c.burst <= 1000000, "burst", "must be 0..1000000");
}

void describe(ConfigFields& f, AuthConfig& c) {
  f.list_of("api_keys", c.api_keys, describe_key);
  f.field("required", c.required, "RAGD_AUTH_REQUIRED");
  f.field("key_cache_ms", c.key_cache_ms);
  f.check(c.key_cache_ms >= 0 && c.key_cache_ms <= 60000, "key_cache_ms", "must be 0..60000");
  f.section("rate_limit", [&](ConfigFields& s) { describe(s, c.rate_limit); });
  f.section("failed_auth_limit", [&](ConfigFields& s) { describe(s, c.failed_auth_limit); });
}

void describe(ConfigFields& f, QueryConfig& c) {
  f.field("max_query_chars", c.max_query_chars);
  f.field("default_top_k", c.default_top_k);
  f.field("max_top_k", c.max_top_k);
  f.field("max_id_chars", c.max_id_chars);
  f.check(c.max_query_chars > 0, "max_query_chars", "must be positive");
  f.check(c.max_top_k >= 1 && c.max_top_k <= 1000, "max_top_k", "must be 1..1000");
  f.check(c.default_top_k >= 1 && c.default_top_k <= c.max_top_k, "default_top_k", "must be 1..max_top_k");
}

void describe(ConfigFields& f, ReadinessConfig& c) {
  f.field("require_workers", c.require_workers, "RAGD_READINESS_REQUIRE_WORKERS");
}

}  // namespace ragd
