// TieredCache with a real Redis: replicas share entries through L2, and the refresh lock
// admits one of them. (Its in-process behaviour: tests/unit/cache/tiered_cache_test.cpp.)
#include "ragd/cache/tiered_cache.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"

#include "test_support.hpp"

#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::cache;
namespace asio = boost::asio;

namespace {

std::shared_ptr<const CacheEntry> entry(std::string value, std::int64_t fresh_for_ms, std::int64_t stale_for_ms) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::move(value);
  e->created_unix_ms = unix_ms();
  e->fresh_until_ms = e->created_unix_ms + fresh_for_ms;
  e->stale_until_ms = e->created_unix_ms + stale_for_ms;
  return e;
}

std::uint64_t lookups(metrics::Registry& r, std::string_view result) {
  return r.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({"t", result}).value();
}

}  // namespace

TEST(TieredCache, ReplicasShareEntriesThroughL2WhichFillsL1) {
  test::RedisServer server;
  RedisConfig rc;
  rc.url = server.url();
  metrics::Registry registry_a, registry_b;
  test::run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), rc);
    TieredCache a("t", &redis, {100, 1 << 20, 1}, registry_a);
    TieredCache b("t", &redis, {100, 1 << 20, 1}, registry_b);
    co_await a.put("k", entry("shared", 60000, 120000));
    auto first = co_await b.get("k");
    EXPECT_STREQ(first.tier, "l2");
    EXPECT_NE(first.entry, nullptr);
    EXPECT_EQ(first.entry ? first.entry->value : "", "shared");
    EXPECT_EQ(first.state, Freshness::fresh);
    auto second = co_await b.get("k");
    EXPECT_STREQ(second.tier, "l1");
    redis.close();
  });
  EXPECT_EQ(lookups(registry_b, "l2_hit"), 1u);
  EXPECT_EQ(lookups(registry_b, "l1_hit"), 1u);
  // The Redis copy expires with the entry's hard expiry.
  const long long ttl = std::stoll(server.cli({"PTTL", "ragd:cache:t:k"}));
  EXPECT_GT(ttl, 60000);
  EXPECT_LE(ttl, 120000);
}

TEST(TieredCache, PullsOnlyAFreshL2EntryAndLocksOneRefresherAtATime) {
  test::RedisServer server;
  RedisConfig rc;
  rc.url = server.url();
  metrics::Registry registry_a, registry_b;
  test::run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), rc);
    TieredCache a("t", &redis, {100, 1 << 20, 1}, registry_a);
    TieredCache b("t", &redis, {100, 1 << 20, 1}, registry_b);
    co_await a.put("stale", entry("old", -1000, 60000));
    EXPECT_FALSE(co_await b.pull_fresh_from_l2("stale"));
    EXPECT_FALSE(co_await b.pull_fresh_from_l2("absent"));
    co_await a.put("fresh", entry("new", 60000, 120000));
    EXPECT_TRUE(co_await b.pull_fresh_from_l2("fresh"));
    auto pulled = co_await b.get("fresh");
    EXPECT_STREQ(pulled.tier, "l1");

    EXPECT_TRUE(co_await a.try_lock("stale", std::chrono::milliseconds(60000)));
    EXPECT_FALSE(co_await b.try_lock("stale", std::chrono::milliseconds(60000)));
    EXPECT_FALSE(co_await a.try_lock("stale", std::chrono::milliseconds(60000)));
    co_await a.expire_lock("stale", std::chrono::milliseconds(1));
    // Expired, the lock is anyone's again (polled: Redis expires keys on its own clock).
    bool free_again = false;
    asio::steady_timer pause(io);
    for (int i = 0; i < 400 && !free_again; ++i) {
      free_again = co_await b.try_lock("stale", std::chrono::milliseconds(60000));
      pause.expires_after(std::chrono::milliseconds(5));
      if (!free_again) co_await pause.async_wait(asio::use_awaitable);
    }
    EXPECT_TRUE(free_again);
    redis.close();
  });
}
