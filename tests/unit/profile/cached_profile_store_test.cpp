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
  std::string last_tenant;
  asio::awaitable<Result<Profile>> get(std::string tenant, std::string) override {
    ++calls;
    last_tenant = std::move(tenant);
    if (fail) co_return make_error(Errc::unavailable, "down");
    co_return profile;
  }
};

Result<std::shared_ptr<const Profile>> fetch(CachedProfileStore& store, std::string user, std::string tenant = "t") {
  return test::run_coro<Result<std::shared_ptr<const Profile>>>(
      [&](asio::io_context&) { return store.fetch(tenant, user); });
}

}  // namespace

TEST(CachedProfileStore, KeepsAFetchedProfileParsedForItsTtl) {
  metrics::Registry registry;
  CountingSource source;
  CachedProfileStore store(source, 60000, registry);
  EXPECT_EQ(store.cached("t", "u1"), nullptr);
  auto fetched = fetch(store, "u1");
  ASSERT_TRUE(fetched);
  EXPECT_EQ((**fetched).at("language"), "de");
  auto hot = store.cached("t", "u1");
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(hot.get(), fetched->get());  // the same parsed value, not a copy
  EXPECT_EQ(store.cached("t", "u2"), nullptr);
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
  EXPECT_EQ(off.cached("t", "u1"), nullptr);

  CachedProfileStore on(source, 60000, registry);
  source.fail = true;
  auto failed = fetch(on, "u1");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(on.cached("t", "u1"), nullptr);
}

TEST(CachedProfileStore, AProfileCachedForOneTenantIsNotServedToAnother) {
  metrics::Registry registry;
  CountingSource source;
  CachedProfileStore store(source, 60000, registry);
  ASSERT_TRUE(fetch(store, "u1", "a"));
  EXPECT_EQ(source.last_tenant, "a");
  EXPECT_NE(store.cached("a", "u1"), nullptr);
  EXPECT_EQ(store.cached("b", "u1"), nullptr);
  // Tenant and user are not simply joined: ("a", "bu1") is not ("ab", "u1").
  EXPECT_EQ(store.cached("ab", "u1"), nullptr);
  ASSERT_TRUE(fetch(store, "bu1", "a"));
  EXPECT_EQ(store.cached("ab", "u1"), nullptr);
}
