#include "ragctl_redis.hpp"

#include "ragd/redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>

namespace ragctl {

namespace asio = boost::asio;

ragd::RedisConfig redis_config_from(const ragd::ParsedFlags& flags) {
  ragd::RedisConfig config;
  const char* env = std::getenv("RAGD_REDIS_URL");
  config.url = flags.get("redis").value_or(env ? env : config.url);
  config.key_prefix = key_prefix_from(flags);
  return config;
}

std::string key_prefix_from(const ragd::ParsedFlags& flags) { return flags.get("key-prefix").value_or("ragd:"); }

int run_with_redis(const ragd::RedisConfig& config, const std::string& what,
                   std::function<asio::awaitable<int>(ragd::redis::Client&)> body) {
  asio::io_context io;
  ragd::redis::Client redis(io.get_executor(), config);
  auto run = [&]() -> asio::awaitable<int> {
    auto ping = co_await redis.command(ragd::redis::make_command("PING"));
    if (!ping) {
      std::cerr << "ragctl: cannot reach redis at " << config.url << ": " << ragd::log_text(ping.error()) << "\n";
      co_return 1;
    }
    co_return co_await body(redis);
  };
  int code = 1;
  bool finished = false;
  asio::co_spawn(io, run(), [&](std::exception_ptr e, int result) {
    finished = true;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "ragctl: " << ex.what() << "\n";
      }
    } else {
      code = result;
    }
    redis.close();
    io.stop();  // the client's connections keep the context busy otherwise
  });
  io.run_for(std::chrono::seconds(60));
  if (!finished) {
    std::cerr << "ragctl: " << what << " timed out\n";
    return 1;
  }
  return code;
}

}  // namespace ragctl
