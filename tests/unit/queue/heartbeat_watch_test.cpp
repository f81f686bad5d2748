#include "ragd/queue/heartbeat_watch.hpp"

#include <gtest/gtest.h>

namespace ragd::queue {
namespace {

using namespace std::chrono_literals;
using Clock = HeartbeatWatch::Clock;

TEST(HeartbeatWatch, AHeartbeatThatStopsChangingIsDeadAfterTheStaleTime) {
  HeartbeatWatch watch(5000ms);
  const auto t0 = Clock::now();
  const std::vector<std::string> consumers = {"w1"};
  EXPECT_TRUE(watch.dead(consumers, {{"w1", 100}}, t0).empty());
  EXPECT_TRUE(watch.dead(consumers, {{"w1", 100}}, t0 + 4999ms).empty());
  EXPECT_EQ(watch.dead(consumers, {{"w1", 100}}, t0 + 5000ms), consumers);
}

TEST(HeartbeatWatch, AHeartbeatThatKeepsChangingIsAliveWhateverItsClockSays) {
  // The scores come from another host's clock, an hour behind this one: only changes count.
  HeartbeatWatch watch(5000ms);
  const auto t0 = Clock::now();
  const std::vector<std::string> consumers = {"w1"};
  for (int i = 0; i <= 20; ++i) {
    EXPECT_TRUE(watch.dead(consumers, {{"w1", 1'000'000 + i * 1000}}, t0 + i * 1s).empty()) << i;
  }
  // It stops: dead five seconds after the last change was seen.
  EXPECT_TRUE(watch.dead(consumers, {{"w1", 1'020'000}}, t0 + 24s).empty());
  EXPECT_EQ(watch.dead(consumers, {{"w1", 1'020'000}}, t0 + 25s), consumers);
}

TEST(HeartbeatWatch, AConsumerWithoutAHeartbeatIsDeadAfterTheStaleTime) {
  HeartbeatWatch watch(5000ms);
  const auto t0 = Clock::now();
  EXPECT_TRUE(watch.dead({"gone"}, {}, t0).empty());
  EXPECT_EQ(watch.dead({"gone"}, {}, t0 + 5s), std::vector<std::string>{"gone"});
}

TEST(HeartbeatWatch, AHeartbeatThatComesBackMakesTheConsumerAliveAgain) {
  HeartbeatWatch watch(5000ms);
  const auto t0 = Clock::now();
  EXPECT_TRUE(watch.dead({"w1"}, {}, t0).empty());
  EXPECT_EQ(watch.dead({"w1"}, {}, t0 + 6s).size(), 1u);
  EXPECT_TRUE(watch.dead({"w1"}, {{"w1", 7}}, t0 + 7s).empty());
  EXPECT_TRUE(watch.dead({"w1"}, {{"w1", 7}}, t0 + 11s).empty());
  EXPECT_EQ(watch.dead({"w1"}, {{"w1", 7}}, t0 + 12s).size(), 1u);
}

TEST(HeartbeatWatch, JudgesEachNameOnceAndForgetsNamesThatLeftTheGroup) {
  HeartbeatWatch watch(1000ms);
  const auto t0 = Clock::now();
  EXPECT_TRUE(watch.dead({"b", "a", "b"}, {}, t0).empty());
  EXPECT_EQ(watch.dead({"b", "a", "b"}, {}, t0 + 1s), (std::vector<std::string>{"a", "b"}));
  // "a" left the group; when it is back, its watch starts over.
  EXPECT_EQ(watch.dead({"b"}, {}, t0 + 2s), std::vector<std::string>{"b"});
  EXPECT_EQ(watch.dead({"a", "b"}, {}, t0 + 2500ms), std::vector<std::string>{"b"});
  EXPECT_EQ(watch.dead({"a", "b"}, {}, t0 + 3500ms), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace ragd::queue
