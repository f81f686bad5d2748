// Per-API-key request rate limits: a token bucket per key, kept in Redis under the key's
// tenant and updated by one
// Lua script (atomic), so every gateway replica draws from the same bucket. A key's bucket
// refills at requests_per_second up to `burst` tokens; a request takes one token or is
// refused with the time until the next one.
//
// Fail-open: when Redis cannot be reached the request is allowed (the query path then
// answers 503 by itself if it needs Redis); rate limiting must not turn a Redis outage
// into an outage of cache hits.
//
// Thread-safety: immutable after construction; acquire() may be called from any thread.
#pragma once

// AuthConfig is the http module's section; this limiter serves the HTTP layer (only
// plain structs are used from it).
#include "ragd/http/http_config.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <optional>

namespace ragd::redis {
class Client;
}

namespace ragd::http {

struct RateDecision {
  bool allowed = true;
  std::int64_t retry_after_ms = 0;  // when refused: until a token is available
};

class RateLimiter {
 public:
  // Buckets live at <key_prefix>t:<tenant>:ratelimit:{<bucket>}: a config key's SHA-256, a
  // Redis-kept key's id, `all` when auth is off.
  RateLimiter(redis::Client& redis, const AuthConfig& config, std::string key_prefix = "ragd:");

  // The limit that applies: the key's own, else auth.rate_limit. 0 rps = none.
  const RateLimitConfig& limit_for(const std::optional<RateLimitConfig>& own) const {
    return own ? *own : default_;
  }

  // Takes a token from the tenant's bucket under `limit` (which must be > 0 rps).
  boost::asio::awaitable<RateDecision> acquire(std::string tenant, std::string bucket, RateLimitConfig limit) const;

 private:
  redis::Client& redis_;
  std::string key_prefix_;
  RateLimitConfig default_;
};

}  // namespace ragd::http
