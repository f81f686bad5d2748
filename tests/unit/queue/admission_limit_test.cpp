#include "ragd/queue/admission_limit.hpp"

#include <gtest/gtest.h>

namespace ragd::queue {
namespace {

using namespace std::chrono_literals;
using Clock = AdmissionLimit::Clock;

TEST(AdmissionLimit, OffAdmitsEverything) {
  AdmissionLimit a(0ms, 1, 4, 2);
  EXPECT_FALSE(a.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(a.try_acquire());
  EXPECT_TRUE(a.would_admit());
}

TEST(AdmissionLimit, ShedsPastTheLimitAndReleasesSlots) {
  AdmissionLimit a(100ms, 1, 100, 3);
  EXPECT_TRUE(a.try_acquire());
  EXPECT_TRUE(a.try_acquire());
  EXPECT_TRUE(a.try_acquire());
  EXPECT_FALSE(a.try_acquire());
  EXPECT_FALSE(a.would_admit());
  a.release_without_reply();  // no reply: the slot comes back, the limit stays
  EXPECT_EQ(a.limit(), 3);
  EXPECT_TRUE(a.try_acquire());
  EXPECT_EQ(a.in_flight(), 3);
}

TEST(AdmissionLimit, GrowsWhileJobsWaitLessThanTheTarget) {
  AdmissionLimit a(100ms, 1, 50, 4);
  const auto t0 = Clock::now();
  for (int round = 0; round < 100; ++round) {
    while (a.try_acquire()) {
    }
    const auto n = a.in_flight();
    for (std::int64_t i = 0; i < n; ++i) a.release(5, 50, t0 + round * 50ms);
  }
  EXPECT_EQ(a.limit(), 50);  // capped at max_limit
}

TEST(AdmissionLimit, ShrinksOncePerWaveOfLongWaits) {
  AdmissionLimit a(100ms, 2, 100, 40);
  const auto t0 = Clock::now();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(a.try_acquire());
  // Ten replies of one backlog within one model call: one decrease, not ten.
  for (int i = 0; i < 10; ++i) a.release(400, 200, t0 + i * 1ms);
  EXPECT_EQ(a.limit(), 36);
  // A model call later, the backlog still stands: another decrease.
  a.release(400, 200, t0 + 250ms);
  EXPECT_EQ(a.limit(), 32);
  // A job that waited out its deadline counts as a long wait; the floor holds.
  for (int k = 1; k < 100; ++k) a.release(1e12, 0, t0 + 250ms + k * 300ms);
  EXPECT_EQ(a.limit(), 2);
}

// A closed system: W workers serve jobs in `service` each; the queue wait a job sees is the
// backlog ahead of it. With the limit on, in flight settles near the workers plus what the
// target allows, so waits stay near the target instead of near the bound.
TEST(AdmissionLimit, SettlesWhereWaitsMeetTheTarget) {
  constexpr int kWorkers = 8;
  constexpr double kServiceMs = 200;
  AdmissionLimit a(100ms, 1, 1000, 200);
  auto now = Clock::now();
  double last_wait = 0;
  for (int wave = 0; wave < 300; ++wave) {
    while (a.try_acquire()) {
    }
    const auto in_flight = a.in_flight();
    // This wave's replies: the first kWorkers jobs finish; the backlog behind them waited
    // (position / workers) service times.
    const double backlog = static_cast<double>(std::max<std::int64_t>(0, in_flight - kWorkers));
    last_wait = backlog / kWorkers * kServiceMs;
    for (int w = 0; w < kWorkers; ++w) a.release(last_wait, kServiceMs, now);
    now += std::chrono::milliseconds(static_cast<int>(kServiceMs));
  }
  EXPECT_LT(last_wait, 250.0) << "limit " << a.limit();
  EXPECT_GE(a.limit(), kWorkers);
}

}  // namespace
}  // namespace ragd::queue
