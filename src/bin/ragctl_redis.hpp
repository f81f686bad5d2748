// What ragctl's Redis commands (queue, keys) share: the deployment's Redis URL and key
// prefix from the flags (--redis, env RAGD_REDIS_URL; --key-prefix), and running one
// coroutine against a client to completion, with a PING first and a bound on the whole.
#pragma once

#include "ragd/core/cli.hpp"
#include "ragd/redis/redis_config.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

namespace ragd::redis {
class Client;
}

namespace ragctl {

ragd::RedisConfig redis_config_from(const ragd::ParsedFlags& flags);
// --key-prefix, else "ragd:".
std::string key_prefix_from(const ragd::ParsedFlags& flags);

// Runs `body` on a fresh client (after a PING that must succeed); its result is the exit
// code. `what` names the command in the timeout message.
int run_with_redis(const ragd::RedisConfig& config, const std::string& what,
                   std::function<boost::asio::awaitable<int>(ragd::redis::Client&)> body);

}  // namespace ragctl
