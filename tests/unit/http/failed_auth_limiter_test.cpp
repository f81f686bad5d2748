#include "ragd/http/failed_auth_limiter.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::http;

TEST(FailedAuthLimiter, RefusesAnAddressOnceItsFailuresSpendTheBurstUntilATokenIsBack) {
  FailedAuthLimiter limiter(RateLimitConfig{1, 3});
  const std::int64_t t = 1'000'000;
  EXPECT_EQ(limiter.wait_ms("10.0.0.1", t), 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.wait_ms("10.0.0.1", t), 0) << i;
    limiter.record_failure("10.0.0.1", t);
  }
  EXPECT_EQ(limiter.wait_ms("10.0.0.1", t), 1000);
  EXPECT_EQ(limiter.wait_ms("10.0.0.1", t + 400), 600);
  EXPECT_EQ(limiter.wait_ms("10.0.0.2", t), 0) << "another address is not refused";
  EXPECT_EQ(limiter.wait_ms("10.0.0.1", t + 1000), 0);
  limiter.record_failure("10.0.0.1", t + 1000);
  EXPECT_EQ(limiter.wait_ms("10.0.0.1", t + 1000), 1000);
  // Fully refilled, the address is forgotten and costs nothing.
  EXPECT_EQ(limiter.wait_ms("10.0.0.1", t + 10000), 0);
}

TEST(FailedAuthLimiter, IsOffWithoutARateAndTracksAtMostItsBound) {
  FailedAuthLimiter off(RateLimitConfig{0, 0});
  for (int i = 0; i < 100; ++i) off.record_failure("a", 0);
  EXPECT_EQ(off.wait_ms("a", 0), 0);

  FailedAuthLimiter bounded(RateLimitConfig{1, 1}, 2);
  for (const char* a : {"a", "b", "c"}) bounded.record_failure(a, 0);
  EXPECT_GT(bounded.wait_ms("a", 0), 0);
  EXPECT_GT(bounded.wait_ms("b", 0), 0);
  EXPECT_EQ(bounded.wait_ms("c", 0), 0) << "a third address past the bound is not tracked";
}
