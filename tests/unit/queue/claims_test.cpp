#include "queue/claims.hpp"

#include "redis_replies.hpp"
#include <gtest/gtest.h>

#include <array>

namespace ragd::queue::detail {
namespace {

constexpr auto str = test::reply_string;
constexpr auto array = test::reply_array;
constexpr auto error = test::reply_error;

redis::Reply consumers(std::vector<std::string> names) {
  std::vector<redis::Reply> out;
  for (auto& n : names) out.push_back(array({str("name"), str(std::move(n))}));
  return array(std::move(out));
}

const std::array<std::string, 2> kStreams = {"ragd:jobs:high", "ragd:jobs"};

TEST(Claims, TheSurveyReadsConsumersBeforeHeartbeatsAndIdleJobsOnlyWhenAsked) {
  QueueConfig config;
  config.key_prefix = "ragd:";
  config.group = "ragd-workers";
  auto without_idle = survey_commands(kStreams, config, std::chrono::milliseconds(0));
  ASSERT_EQ(without_idle.size(), 3u);
  auto with_idle = survey_commands(kStreams, config, std::chrono::milliseconds(30000));
  ASSERT_EQ(with_idle.size(), 5u);
  const auto text = [](const redis::Command& c) {
    std::string out;
    for (const auto& arg : c) out += arg + " ";
    return out;
  };
  EXPECT_EQ(text(with_idle[0]), "XINFO CONSUMERS ragd:jobs:high ragd-workers ");
  EXPECT_EQ(text(with_idle[2]), "ZRANGE ragd:workers 0 -1 WITHSCORES ");
  EXPECT_EQ(text(with_idle[4]), "XPENDING ragd:jobs ragd-workers IDLE 30000 - + 1 ");
}

TEST(Claims, TheSurveyLeavesThisWorkerOutAndSeesAnIdleJob) {
  std::vector<redis::Reply> replies;
  replies.push_back(consumers({"me", "w1"}));
  replies.push_back(consumers({"w2"}));
  replies.push_back(array({str("w1"), str("100"), str("me"), str("200")}));
  replies.push_back(array({}));
  replies.push_back(array({array({str("1-0"), str("w2"), str("40000"), str("1")})}));
  auto survey = parse_survey(replies, 2, "me");
  ASSERT_TRUE(survey);
  EXPECT_EQ(survey->consumers, (std::vector<std::string>{"w1", "w2"}));
  EXPECT_EQ(survey->heartbeats.at("w1"), 100);
  EXPECT_TRUE(survey->idle_jobs);

  replies.pop_back();
  replies.push_back(array({}));
  EXPECT_FALSE(parse_survey(replies, 2, "me")->idle_jobs);
}

TEST(Claims, ASurveyOfAStreamWithoutItsGroupIsNoSurvey) {
  std::vector<redis::Reply> replies;
  replies.push_back(consumers({"w1"}));
  replies.push_back(error("NOGROUP No such key 'ragd:jobs' or consumer group"));
  replies.push_back(array({}));
  EXPECT_FALSE(parse_survey(replies, 2, "me"));
  EXPECT_FALSE(parse_survey({}, 2, "me")) << "a short reply is no survey either";
}

TEST(Claims, AHeartbeatPrunesWorkersSilentForTenStaleTimesAtLeastAMinute) {
  QueueConfig config;
  config.key_prefix = "ragd:";
  config.worker_stale_ms = 15000;
  auto cmds = heartbeat_commands(config, "w1", 1000000);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"ZADD", "ragd:workers", "1000000", "w1"}));
  EXPECT_EQ(cmds[1], (std::vector<std::string>{"ZREMRANGEBYSCORE", "ragd:workers", "-inf", "(850000"}));
  config.worker_stale_ms = 1000;
  EXPECT_EQ(heartbeat_commands(config, "w1", 1000000)[1].back(), "(940000");
}

}  // namespace
}  // namespace ragd::queue::detail
