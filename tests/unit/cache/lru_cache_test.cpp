#include "ragd/cache/lru_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace ragd::cache;

namespace {
std::shared_ptr<const CacheEntry> entry(std::string value, std::int64_t fresh = 1000, std::int64_t stale = 2000) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::move(value);
  e->fresh_until_ms = fresh;
  e->stale_until_ms = stale;
  return e;
}
}  // namespace

TEST(LruCache, GetsWhatWasPutAndEvictsTheLeastRecentlyUsed) {
  LruCache c({3, 1 << 20, 1});
  c.put("a", entry("1"));
  c.put("b", entry("2"));
  c.put("c", entry("3"));
  ASSERT_NE(c.get("a", 0), nullptr);  // a is now the most recent
  c.put("d", entry("4"));             // evicts b
  EXPECT_EQ(c.get("b", 0), nullptr);
  EXPECT_NE(c.get("a", 0), nullptr);
  EXPECT_NE(c.get("c", 0), nullptr);
  EXPECT_EQ(c.get("d", 0)->value, "4");
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.evictions(), 1u);
}

TEST(LruCache, ReplacingAKeyKeepsOneEntry) {
  LruCache c({10, 1 << 20, 2});
  c.put("a", entry("1"));
  c.put("a", entry("22"));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.get("a", 0)->value, "22");
}

TEST(LruCache, DropsEntriesPastTheirHardExpiry) {
  LruCache c({10, 1 << 20, 1});
  c.put("a", entry("1", 100, 200));
  EXPECT_NE(c.get("a", 150), nullptr);  // stale still served
  EXPECT_EQ(c.get("a", 200), nullptr);  // expired
  EXPECT_EQ(c.size(), 0u);
}

TEST(LruCache, StaysWithinItsByteBoundUnderUniqueLargeValues) {
  const std::size_t bound = 1 << 20;
  LruCache c({1000000, bound, 8});
  for (int i = 0; i < 2000; ++i) {
    c.put("key-" + std::to_string(i), entry(std::string(10000 + i, 'x')));
    ASSERT_LE(c.bytes(), bound);
  }
  EXPECT_GT(c.evictions(), 1000u);
  EXPECT_GT(c.size(), 10u);
}

TEST(LruCache, IsSafeUnderManyThreads) {
  LruCache c({1000, 1 << 20, 16});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        auto k = std::to_string((i * 7 + t) % 3000);
        if (i % 3 == 0) {
          c.put(k, entry(k));
        } else if (auto e = c.get(k, 0)) {
          ASSERT_EQ(e->value, k);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_LE(c.size(), 1000u);
}

TEST(Freshness, IsFreshThenStaleThenExpired) {
  CacheEntry e;
  e.fresh_until_ms = 10;
  e.stale_until_ms = 20;
  EXPECT_EQ(freshness(e, 9), Freshness::fresh);
  EXPECT_EQ(freshness(e, 10), Freshness::stale);
  EXPECT_EQ(freshness(e, 20), Freshness::expired);
}
