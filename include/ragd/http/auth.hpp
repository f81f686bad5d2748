// API-key authentication: who a request is (tenant, key id, scopes, rate limit).
//
// Keys come from two places. The config file lists SHA-256 digests (auth.api_keys; they
// bootstrap the first admin), compared in constant time against the request's key's
// digest. Keys created at runtime live in Redis (auth::KeyStore); a gateway keeps what it
// read of a digest, found or not, for auth.key_cache_ms, so a known key costs a SHA-256 and
// a map lookup, and a revocation, expiry or new key is seen by every replica within that
// time plus one Redis round trip. With no config keys and auth.required off, auth is off:
// every request is tenant "default" with every scope but admin.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/auth/api_key.hpp"
#include "ragd/cache/lru_cache.hpp"
#include "ragd/core/error.hpp"
#include "ragd/http/http_config.hpp"
#include "ragd/http/message.hpp"
#include "ragd/redis/tenant_keys.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ragd::auth {
class KeyStore;
}

namespace ragd::http {

// The API key a request presents: `X-API-Key`, else the token of `Authorization: Bearer`
// (the scheme in any case); empty when neither.
std::string_view presented_api_key(const Request& req);

// Who is asking.
struct Principal {
  std::string tenant{redis::kDefaultTenant};
  // "" with auth off; a Redis-kept key's id; "config:<name>" (or "config:#<index>" without a
  // name) for a config-file key. Logged on every request line; never the key or its digest.
  std::string key_id;
  auth::Scopes scopes = 0;
  std::optional<RateLimitConfig> rate_limit;  // the key's own; nullopt = auth.rate_limit
  std::string bucket;                          // its rate-limit bucket within the tenant
};

class ApiKeyAuth {
 public:
  // `store` null: the config's keys only.
  ApiKeyAuth(const AuthConfig& config, auth::KeyStore* store);

  bool enabled() const { return enabled_; }

  // The principal of the key with this digest (lower-case hex) when it is known without
  // I/O: a config key, or a Redis-kept key (or its absence) read less than key_cache_ms
  // ago. nullopt: ask resolve().
  std::optional<Result<Principal>> resolve_now(const std::string& sha256) const;
  // Reads the key from Redis and remembers it. Errc::unauthorized for an unknown, revoked or
  // expired key; Errc::unavailable when Redis cannot be asked.
  boost::asio::awaitable<Result<Principal>> resolve(std::string sha256) const;
  // The principal with auth off.
  static Principal anonymous();

 private:
  struct ConfigKey {
    std::string sha256;  // lower-case hex
    Principal principal;
  };
  struct Remembered {
    std::optional<auth::ApiKey> key;  // nullopt: no such key
    std::int64_t fresh_until_ms = 0;
    std::int64_t stale_until_ms = 0;
    std::size_t bytes() const noexcept { return key ? key->name.size() + key->id.size() + 64 : 0; }
  };

  Result<Principal> judge(const std::optional<auth::ApiKey>& key, std::int64_t now_ms) const;

  std::vector<ConfigKey> keys_;
  auth::KeyStore* store_;
  int cache_ms_;
  bool enabled_;
  mutable cache::BasicLruCache<Remembered> remembered_;
};

}  // namespace ragd::http
