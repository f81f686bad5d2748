// User profiles: the Redis hash `profile:{user_id}`, reduced to the fields the prompt uses
// (ProfileConfig::prompt_fields). The profile leg is optional: callers treat an error as
// "no profile" and go on. Thread-safety: get() may be called from any thread.
#pragma once

#include "ragd/profile/profile_config.hpp"
#include "ragd/core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <string>

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
  virtual boost::asio::awaitable<Result<Profile>> get(std::string user_id) = 0;
};

class ProfileStore final : public ProfileSource {
 public:
  ProfileStore(redis::Client& redis, ProfileConfig config);

  boost::asio::awaitable<Result<Profile>> get(std::string user_id) override;

  static std::string key(const std::string& user_id) { return "profile:{" + user_id + "}"; }

 private:
  redis::Client& redis_;
  ProfileConfig config_;
};

}  // namespace ragd::profile
