// API keys as ragd manages them at runtime: what a key may do (scopes), its record (id,
// name, tenant, scopes, creation, expiry, rate limit, revocation, last use; never the key
// itself, only its SHA-256), and the parsers of the operator's spellings of scopes
// ("query,documents:write"), lifetimes ("30d") and rates ("50/s"). Pure values and
// functions; thread-safe.
#pragma once

#include "ragd/core/error.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ragd::auth {

// What a key may do, as bits.
enum class Scope : std::uint8_t {
  query = 1,               // POST /query
  documents_read = 2,      // GET /v1/documents...
  documents_write = 4,     // POST and DELETE /v1/documents...
  admin = 8,               // /v1/admin/keys
};
using Scopes = std::uint8_t;
inline constexpr Scopes kAllScopes = 15;

inline constexpr Scopes bit(Scope s) { return static_cast<Scopes>(s); }
inline constexpr bool has_scope(Scopes set, Scope s) { return (set & bit(s)) != 0; }

// "query", "documents:read", "documents:write", "admin".
std::string_view scope_name(Scope s);
// A comma-separated list of scope names; at least one, no unknown ones.
Result<Scopes> parse_scopes(std::string_view list);
// The names of a set, comma-separated, in the order above.
std::string format_scopes(Scopes set);

struct ApiKey {
  std::string id;      // "key_" + 16 hex digits: names the key in logs, lists and revocation
  std::string sha256;  // lower-case hex digest of the key
  std::string name;
  std::string tenant;
  Scopes scopes = 0;
  std::int64_t created_ms = 0;    // unix ms
  std::int64_t expires_ms = 0;    // unix ms; 0 = never
  std::int64_t revoked_ms = 0;    // unix ms; 0 = not revoked
  std::int64_t last_used_ms = 0;  // unix ms of the last lookup that accepted it; 0 = never
  double rate_per_second = 0;     // 0 = the gateway's default limit
  int rate_burst = 0;

  // Why the key is refused at `now_ms` ("revoked", "expired"), or empty when it is usable.
  std::string_view refusal(std::int64_t now_ms) const;
};

// "30d", "12h", "90m", "45s" as milliseconds (1 to 3650 days in all).
Result<std::int64_t> parse_lifetime_ms(std::string_view text);
// "50/s", "600/m", "10000/h" as requests per second (more than 0, at most 1000000/s).
Result<double> parse_rate(std::string_view text);

// What an operator asks for, as typed (ragctl flags or the admin API's JSON strings).
struct KeyRequest {
  std::string tenant;
  std::string name;
  std::string scopes;   // "query,documents:write"
  std::string expires;  // "" = never, else a lifetime ("30d")
  std::string rate;     // "" = the gateway's default limit, else "50/s"
};
// The record to create, checked: a valid tenant, a name of 1 to 64 printable characters, at
// least one known scope; the expiry counted from `now_ms`; the burst max(1, rate per second).
// Errc::bad_request naming the field otherwise.
Result<ApiKey> parse_key_request(const KeyRequest& request, std::int64_t now_ms);

// A record as the admin API and ragctl show it: id, name, tenant, scopes (array), status
// ("active", "revoked", "expired" at `now_ms`), times in unix ms (null when unset) and the
// rate limit (null: the default). Never the digest.
nlohmann::json key_json(const ApiKey& key, std::int64_t now_ms);

// A fresh key ("ragd_" + 32 random hex digits: 128 bits) and a fresh key id.
std::string new_key_secret();
std::string new_key_id();

}  // namespace ragd::auth
