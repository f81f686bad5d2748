// redis-bench: what one Redis command costs ragd's own client, in CPU time of this process
// (the stable figure on a shared machine) and in wall time, with 1 and more commands in
// flight on one pooled client.
//   redis-bench --redis redis://127.0.0.1:6379/15 [--commands 20000] [--value-bytes 100]
//               [--in-flight 1,16,64] [--pause-us N]
// Each coroutine GETs one key in a loop; the key is SET once first (in the URL's database,
// which should be a scratch one). With --pause-us, one GET at a time with that pause
// between them instead: the round trip when both processes had gone to sleep, which on a
// virtual machine can cost several times the command (percentiles of the wall time).
#include "process_clock.hpp"
#include "ragd/core/cli.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <exception>
#include <future>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

using bench::cpu_seconds;
using bench::run;

asio::awaitable<bool> get_loop(ragd::redis::Client& redis, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = co_await redis.command(ragd::redis::make_command("GET", "redis-bench:key"));
    if (!r || r->is_error()) {
      std::fprintf(stderr, "GET failed: %s\n", r ? r->str.c_str() : r.error().message.c_str());
      co_return false;
    }
  }
  co_return true;
}

// One GET at a time, `pause` apart; each round trip's wall time in microseconds.
asio::awaitable<bool> paused_loop(ragd::redis::Client& redis, int n, std::chrono::microseconds pause,
                                  std::vector<double>& wall_us) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < n; ++i) {
    timer.expires_after(pause);
    co_await timer.async_wait(asio::use_awaitable);
    const auto t0 = clock_type::now();
    auto r = co_await redis.command(ragd::redis::make_command("GET", "redis-bench:key"));
    wall_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    if (!r || r->is_error()) {
      std::fprintf(stderr, "GET failed: %s\n", r ? r->str.c_str() : r.error().message.c_str());
      co_return false;
    }
  }
  co_return true;
}

double percentile(const std::vector<double>& sorted, double q) {
  const auto at = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(at, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<ragd::FlagSpec> specs = {
      {"redis", true, "Redis URL (a scratch database)", "URL"},
      {"commands", true, "commands per measurement (default 20000)", "N"},
      {"value-bytes", true, "size of the value read back (default 100)", "N"},
      {"in-flight", true, "commands in flight, one measurement each (default 1,16,64)", "LIST"},
      {"pause-us", true, "instead: one command at a time, this long apart; prints round-trip percentiles", "N"},
      {"help", false, "show this help"},
  };
  auto flags = ragd::parse_flags(argc, argv, specs);
  if (!flags || flags->has("help") || !flags->get("redis")) {
    std::printf("Usage: redis-bench --redis URL [flags]\n\n%s", ragd::flags_help(specs).c_str());
    return flags && flags->has("help") ? 0 : 2;
  }
  const int total = std::stoi(flags->get("commands").value_or("20000"));
  const auto value_bytes = static_cast<std::size_t>(std::stoul(flags->get("value-bytes").value_or("100")));
  std::vector<int> in_flight;
  {
    const std::string list = flags->get("in-flight").value_or("1,16,64");
    std::size_t start = 0;
    while (start <= list.size()) {
      const std::size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) in_flight.push_back(std::stoi(list.substr(start, comma - start)));
      start = comma + 1;
    }
  }

  asio::io_context io(1);
  ragd::RedisConfig config;
  config.url = *flags->get("redis");
  ragd::redis::Client redis(io.get_executor(), config);
  auto set = run(io, redis.command(ragd::redis::make_command("SET", "redis-bench:key",
                                                             std::string(value_bytes, 'v'))));
  if (!set || set->is_error()) {
    std::fprintf(stderr, "cannot SET the key: %s\n", set ? set->str.c_str() : set.error().message.c_str());
    return 1;
  }
  if (auto pause = flags->get("pause-us")) {
    const int n = std::max(1, total);
    std::vector<double> wall_us;
    wall_us.reserve(static_cast<std::size_t>(n));
    if (!run(io, paused_loop(redis, n, std::chrono::microseconds(std::stol(*pause)), wall_us))) return 1;
    std::sort(wall_us.begin(), wall_us.end());
    const auto over_ms = std::count_if(wall_us.begin(), wall_us.end(), [](double us) { return us > 1000.0; });
    std::printf("idle round trip (GET every %s us, %d samples): P50 %.3f ms, P90 %.3f ms, P99 %.3f ms, "
                "max %.3f ms, %.1f%% over 1 ms\n",
                pause->c_str(), n, percentile(wall_us, 0.5) / 1000, percentile(wall_us, 0.9) / 1000,
                percentile(wall_us, 0.99) / 1000, wall_us.back() / 1000,
                100.0 * static_cast<double>(over_ms) / static_cast<double>(n));
    run(io, redis.command(ragd::redis::make_command("DEL", "redis-bench:key")));
    return 0;
  }
  std::printf("%10s %12s %14s %16s\n", "in flight", "commands/s", "wall us/cmd", "cpu us/command");
  for (int k : in_flight) {
    if (k < 1) continue;
    const int per = std::max(1, total / k);
    run(io, get_loop(redis, std::min(per, 200)));  // warm-up
    const double cpu0 = cpu_seconds();
    const auto t0 = clock_type::now();
    int finished = 0;
    bool ok = true;
    for (int i = 0; i < k; ++i) {
      asio::co_spawn(io, get_loop(redis, per), [&](std::exception_ptr ep, bool r) {
        ++finished;
        ok = ok && !ep && r;
      });
    }
    io.restart();
    while (finished < k) io.run_one();
    if (!ok) return 1;
    const double wall_us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
    const double cpu_us = (cpu_seconds() - cpu0) * 1e6;
    const double n = static_cast<double>(per) * k;
    std::printf("%10d %12.0f %14.2f %16.2f\n", k, n / (wall_us / 1e6), wall_us / n, cpu_us / n);
    std::fflush(stdout);
  }
  run(io, redis.command(ragd::redis::make_command("DEL", "redis-bench:key")));
  return 0;
}
