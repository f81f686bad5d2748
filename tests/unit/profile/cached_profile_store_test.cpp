#include "ragd/profile/cached_profile_store.hpp"

#include "ragd/metrics/metrics.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::profile;
namespace asio = boost::asio;

namespace {

struct CountingSource final : ProfileSource {
  Profile profile{{"language", "de"}};
  int calls = 0;
  bool fail = false;
  asio::awaitable<Result<Profile>> get(std::string) override {
    ++calls;
    if (fail) co_return make_error(Errc::unavailable, "down");
    co_return profile;
  }
};

Result<std::shared_ptr<const Profile>> fetch(CachedProfileStore& store, std::string user) {
  return test::run_coro<Result<std::shared_ptr<const Profile>>>(
      [&](asio::io_context&) { return store.fetch(user); });
}

}  // namespace

TEST(CachedProfileStore, KeepsAFetchedProfileParsedForItsTtl) {
  metrics::Registry registry;
  CountingSource source;
  CachedProfileStore store(source, 60000, registry);
  EXPECT_EQ(store.cached("u1"), nullptr);
  auto fetched = fetch(store, "u1");
  ASSERT_TRUE(fetched);
  EXPECT_EQ((**fetched).at("language"), "de");
  auto hot = store.cached("u1");
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(hot.get(), fetched->get());  // the same parsed value, not a copy
  EXPECT_EQ(store.cached("u2"), nullptr);
  EXPECT_EQ(source.calls, 1);
  EXPECT_EQ(registry.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({"profiles", "l1_hit"}).value(),
            1u);
  EXPECT_EQ(store.l1().size(), 1u);
}

TEST(CachedProfileStore, CachesNothingWithoutATtlOrAfterAFailure) {
  metrics::Registry registry;
  CountingSource source;
  CachedProfileStore off(source, 0, registry);
  ASSERT_TRUE(fetch(off, "u1"));
  EXPECT_EQ(off.cached("u1"), nullptr);

  CachedProfileStore on(source, 60000, registry);
  source.fail = true;
  auto failed = fetch(on, "u1");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(on.cached("u1"), nullptr);
}
