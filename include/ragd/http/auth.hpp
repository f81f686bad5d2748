// API-key authentication. Keys are configured as SHA-256 hashes; a request's key (from
// `Authorization: Bearer <key>` or `X-API-Key: <key>`) is hashed and compared against every
// configured hash in constant time, and names the request's tenant. With no keys
// configured, auth is off and every request belongs to the tenant "default".
// Thread-safety: immutable after construction.
#pragma once

#include "ragd/http/http_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/http/message.hpp"

#include <string>

namespace ragd::http {

// The API key a request presents: `X-API-Key`, else the token of `Authorization: Bearer`
// (the scheme in any case); empty when neither.
std::string_view presented_api_key(const Request& req);

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(const AuthConfig& config);

  bool enabled() const { return !keys_.empty(); }
  // The tenant of the request's key; Errc::unauthorized when missing or unknown.
  Result<std::string> authenticate(const Request& req) const;

 private:
  struct Key {
    std::string sha256;  // lower-case hex
    std::string tenant;
  };
  std::vector<Key> keys_;
};

}  // namespace ragd::http
