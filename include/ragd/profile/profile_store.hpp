// User profiles: the Redis hash `<key_prefix>t:<tenant>:profile:{user_id}`, reduced to the
// fields the prompt uses (ProfileConfig::prompt_fields). A user id names a user within a
// tenant: the same id in two tenants is two users. The profile leg is optional: callers treat an error as
// "no profile" and go on. Thread-safety: get() may be called from any thread.
#pragma once

#include "ragd/profile/profile_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/redis/tenant_keys.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <string>
#include <string_view>

namespace ragd::redis {
class Client;
}

namespace ragd::profile {

using Profile = std::map<std::string, std::string>;  // field -> value, prompt fields only

// Where profiles come from (ProfileStore; a fake in tests).
class ProfileSource {
 public:
  virtual ~ProfileSource() = default;
  // An empty user id or a missing profile gives an empty profile, not an error.
  virtual boost::asio::awaitable<Result<Profile>> get(std::string tenant, std::string user_id) = 0;
};

class ProfileStore final : public ProfileSource {
 public:
  ProfileStore(redis::Client& redis, ProfileConfig config, std::string key_prefix);

  boost::asio::awaitable<Result<Profile>> get(std::string tenant, std::string user_id) override;

  static std::string key(std::string_view key_prefix, std::string_view tenant, std::string_view user_id) {
    return redis::tenant_key(key_prefix, tenant, "profile", user_id);
  }

 private:
  redis::Client& redis_;
  ProfileConfig config_;
  std::string key_prefix_;
};

}  // namespace ragd::profile
