// TieredCache without a Redis process: its in-process tier, expiry, the L2 encoding, and
// what it does when Redis is unreachable (a miss, counted; never an error). Sharing entries
// through a real Redis is tests/integration/tiered_cache_test.cpp.
#include "ragd/cache/tiered_cache.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"

#include "test_support.hpp"

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

TEST(TieredCache, WithoutRedisServesFromL1AndCountsHitsAndMisses) {
  metrics::Registry registry;
  TieredCache c("t", nullptr, {100, 1 << 20, 1}, registry);
  test::run_coro<void>([&](asio::io_context&) -> asio::awaitable<void> {
    auto miss = co_await c.get("k");
    EXPECT_EQ(miss.entry, nullptr);
    EXPECT_STREQ(miss.tier, "none");
    co_await c.put("k", entry("v", 60000, 120000));
    auto hit = co_await c.get("k");
    EXPECT_NE(hit.entry, nullptr);
    EXPECT_EQ(hit.entry->value, "v");
    EXPECT_EQ(hit.state, Freshness::fresh);
    EXPECT_STREQ(hit.tier, "l1");
    // Without Redis the process is alone: its lock is always its own, and L2 holds nothing.
    EXPECT_TRUE(co_await c.try_lock("k", std::chrono::milliseconds(1000)));
    EXPECT_FALSE(co_await c.pull_fresh_from_l2("k"));
  });
  EXPECT_EQ(lookups(registry, "l1_hit"), 1u);
  EXPECT_EQ(lookups(registry, "miss"), 1u);
}

TEST(TieredCache, ServesStaleEntriesUntilTheirHardExpiry) {
  metrics::Registry registry;
  TieredCache c("t", nullptr, {100, 1 << 20, 1}, registry);
  test::run_coro<void>([&](asio::io_context&) -> asio::awaitable<void> {
    co_await c.put("stale", entry("old", -1000, 60000));
    co_await c.put("gone", entry("older", -2000, -1000));
    auto stale = co_await c.get("stale");
    EXPECT_NE(stale.entry, nullptr);
    EXPECT_EQ(stale.state, Freshness::stale);
    auto gone = co_await c.get("gone");
    EXPECT_EQ(gone.entry, nullptr);
    EXPECT_EQ(gone.state, Freshness::expired);
  });
  EXPECT_EQ(c.l1().size(), 1u);
}

// Stale-if-error at the tier: with Redis unreachable, L1's entries (stale ones too) are
// still served, a key L1 lacks is a miss, and each failed Redis call is counted.
TEST(TieredCache, ARedisFailureIsAMissNotAnError) {
  metrics::Registry registry;
  RedisConfig rc;
  rc.url = "redis://127.0.0.1:" + std::to_string(test::free_port());  // nothing listens there
  rc.connect_timeout_ms = 200;
  rc.command_timeout_ms = 200;
  test::run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), rc);
    TieredCache c("t", &redis, {100, 1 << 20, 1}, registry);
    co_await c.put("k", entry("v", -1000, 60000));  // L1 keeps it; the L2 write fails
    auto stale = co_await c.get("k");
    EXPECT_NE(stale.entry, nullptr);
    EXPECT_EQ(stale.state, Freshness::stale);
    auto miss = co_await c.get("other");
    EXPECT_EQ(miss.entry, nullptr);
    // No replica can be asked: the process refreshes on its own.
    EXPECT_TRUE(co_await c.try_lock("k", std::chrono::milliseconds(1000)));
    EXPECT_FALSE(co_await c.pull_fresh_from_l2("k"));
    redis.close();
  });
  EXPECT_EQ(lookups(registry, "miss"), 1u);
  EXPECT_EQ(registry.counter("ragd_cache_l2_errors_total", "", {"cache"}).with({"t"}).value(), 3u);
}

TEST(TieredCacheEncoding, RoundTripsAndRejectsGarbage) {
  CacheEntry e;
  e.value = "line1\nline2";
  e.created_unix_ms = 1;
  e.fresh_until_ms = 2;
  e.stale_until_ms = 3;
  auto d = TieredCache::decode(TieredCache::encode(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, e.value);
  EXPECT_EQ(d->fresh_until_ms, 2);
  EXPECT_FALSE(TieredCache::decode("garbage"));
  EXPECT_FALSE(TieredCache::decode("rc1\nx\n"));
}
