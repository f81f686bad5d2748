#include "ragd/profile/profile_store.hpp"

#include "ragd/redis/client.hpp"

#include <algorithm>

namespace ragd::profile {

ProfileStore::ProfileStore(redis::Client& redis, ProfileConfig config, std::string key_prefix)
    : redis_(redis), config_(std::move(config)), key_prefix_(std::move(key_prefix)) {}

boost::asio::awaitable<Result<Profile>> ProfileStore::get(std::string tenant, std::string user_id) {
  Profile out;
  if (user_id.empty() || config_.prompt_fields.empty()) co_return out;
  redis::Command cmd{"HMGET", key(key_prefix_, tenant, user_id)};
  for (const auto& f : config_.prompt_fields) cmd.push_back(f);
  auto reply = co_await redis_.command(std::move(cmd), std::chrono::milliseconds(config_.timeout_ms));
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    co_return make_error(Errc::upstream_error, "profile lookup: Redis answered an error", reply->str);
  }
  const auto& values = reply->elements;
  for (std::size_t i = 0; i < values.size() && i < config_.prompt_fields.size(); ++i) {
    if (auto v = values[i].as_string(); v && !v->empty()) out[config_.prompt_fields[i]] = *v;
  }
  co_return out;
}

}  // namespace ragd::profile
