// API keys in Redis, shared by every gateway replica and ragctl. A key's record is the
// hash `<key_prefix>apikey:{<sha256 of the key>}` (fields id, name, tenant, scopes,
// created_ms, expires_ms, revoked_ms, last_used_ms, rate_per_second, rate_burst); the hash
// `<key_prefix>apikeys` maps each key id to its digest, for listing and revocation. The
// key itself is returned once by create() and stored nowhere. Revocation marks the record
// (revoked keys stay listed); nothing is deleted.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/auth/api_key.hpp"
#include "ragd/core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ragd::redis {
class Client;
}

namespace ragd::auth {

struct CreatedKey {
  ApiKey record;
  std::string secret;  // the key: shown to its owner once
};

class KeyStore {
 public:
  KeyStore(redis::Client& redis, std::string key_prefix);

  // Stores a new key with `spec`'s name, tenant, scopes, expiry and rate (its id, digest
  // and creation time are made here).
  boost::asio::awaitable<Result<CreatedKey>> create(ApiKey spec);
  // The records of every key ("" = all tenants) or of one tenant's, oldest first.
  boost::asio::awaitable<Result<std::vector<ApiKey>>> list(std::string tenant);
  // Marks the key revoked; the record with its revocation time, or nullopt for an unknown id.
  boost::asio::awaitable<Result<std::optional<ApiKey>>> revoke(std::string id);
  // The record of the key with this digest, or nullopt. A usable key's last use is set to
  // now in the same step.
  boost::asio::awaitable<Result<std::optional<ApiKey>>> find(std::string sha256);

  std::string record_key(std::string_view sha256) const { return prefix_ + "apikey:{" + std::string(sha256) + "}"; }
  std::string index_key() const { return prefix_ + "apikeys"; }

 private:
  redis::Client& redis_;
  std::string prefix_;
};

}  // namespace ragd::auth
