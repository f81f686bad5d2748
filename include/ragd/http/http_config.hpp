// The HTTP module's sections of ragd's configuration: server (listening, limits,
// timeouts), auth (API keys and their rate limits), readiness (what /readyz requires) and
// query (what a /query body may ask for). Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ragd {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int threads = 0;                        // I/O threads; 0 = see http::io_threads()
  int max_connections = 10000;            // open connections; past it new ones are refused
  std::size_t header_limit_bytes = 16 * 1024;
  std::size_t body_limit_bytes = 1024 * 1024;
  int read_timeout_ms = 10000;            // whole request must arrive within this
  int idle_timeout_ms = 60000;            // keep-alive connection with no request
  int request_timeout_ms = 30000;         // deadline of one query, end to end
  int max_inflight = 4096;                // queries being processed; past it 503
  // A streamed answer's bytes not yet taken by a slow client; past it the stream is cut and
  // its job cancelled.
  std::size_t max_stream_buffer_bytes = 1024 * 1024;
  int shutdown_grace_ms = 10000;          // on SIGTERM: requests in flight may finish this long
  std::string gateway_id;                 // empty = generated at start
};

// A token bucket: `requests_per_second` refill, at most `burst` tokens. 0 rps = no limit.
struct RateLimitConfig {
  double requests_per_second = 0;
  int burst = 0;  // 0 = max(1, requests_per_second)
};

struct ApiKeyConfig {
  std::string sha256;  // hex SHA-256 of the key; the key itself is never stored
  std::string tenant;
  std::string name;
  // query, documents:read, documents:write, admin; all four when not given.
  std::vector<std::string> scopes = {"query", "documents:read", "documents:write", "admin"};
  std::optional<RateLimitConfig> rate_limit;  // overrides auth.rate_limit for this key
};

struct AuthConfig {
  // Auth is on when this lists a key or `required` is set; then keys kept in Redis (created
  // with `ragctl keys create` or the admin API) are accepted too. Off: one shared tenant.
  std::vector<ApiKeyConfig> api_keys;
  bool required = false;
  // How long a gateway trusts what it read of a Redis-kept key (or of its absence): the
  // bound on how late a revocation, expiry or new key is seen. 0 = read Redis every request.
  int key_cache_ms = 500;
  RateLimitConfig rate_limit;  // per API key, shared by all replicas through Redis
  // Failed authentications per client address, per gateway; past it 429 before any key is
  // checked (failed_auth_limiter.hpp). 0 rps = no limit.
  RateLimitConfig failed_auth_limit{2, 20};
};

// What /readyz requires besides Redis (and, with replication, a caught-up index).
struct ReadinessConfig {
  // A worker heartbeat within queue.worker_stale_ms. Off for deployments that scale workers
  // from zero on queue length: the gateway stays ready and reports the missing workers as
  // a warning, so that the queries which make the autoscaler start workers can arrive.
  bool require_workers = true;
};

struct QueryConfig {
  std::size_t max_query_chars = 4000;
  int default_top_k = 4;
  int max_top_k = 50;
  std::size_t max_id_chars = 128;  // user_id, session_id
};

// Env: RAGD_LISTEN, RAGD_THREADS, RAGD_REQUEST_TIMEOUT_MS.
void describe(ConfigFields& f, ServerConfig& c);
// Env: RAGD_AUTH_REQUIRED.
void describe(ConfigFields& f, AuthConfig& c);
void describe(ConfigFields& f, RateLimitConfig& c);
void describe(ConfigFields& f, QueryConfig& c);
// Env: RAGD_READINESS_REQUIRE_WORKERS.
void describe(ConfigFields& f, ReadinessConfig& c);

}  // namespace ragd
