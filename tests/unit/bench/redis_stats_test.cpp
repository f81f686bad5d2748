#include "ragbench/redis_stats.hpp"

#include <gtest/gtest.h>

namespace ragd::bench {
namespace {

constexpr std::string_view kInfo =
    "# Commandstats\r\n"
    "cmdstat_xadd:calls=120,usec=900,usec_per_call=7.50,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_get:calls=7,usec=10,usec_per_call=1.43,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_info:calls=3,usec=100,usec_per_call=33.33,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_client|setname:calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n";

TEST(RedisStats, ReadsCallsPerCommandFromInfoCommandstats) {
  const auto stats = parse_commandstats(kInfo);
  ASSERT_EQ(stats.size(), 4u);
  EXPECT_EQ(stats.at("xadd"), 120u);
  EXPECT_EQ(stats.at("get"), 7u);
  EXPECT_EQ(stats.at("info"), 3u);
  EXPECT_EQ(stats.at("client|setname"), 2u);
}

TEST(RedisStats, SkipsLinesThatAreNotCommandCounts) {
  const auto stats = parse_commandstats("# Commandstats\r\ncmdstat_get:usec=1\r\ncmdstat_set:calls=x\r\nused_memory:5\r\n");
  EXPECT_TRUE(stats.empty());
}

TEST(RedisStats, DeltaLeavesOutTheInfoCallsAndUnchangedCommands) {
  const std::map<std::string, std::uint64_t> before{{"xadd", 100}, {"get", 7}, {"info", 2}};
  const std::map<std::string, std::uint64_t> after{{"xadd", 160}, {"get", 7}, {"info", 3}, {"set", 4}};
  const auto delta = commandstats_delta(before, after);
  const std::map<std::string, std::uint64_t> want{{"xadd", 60}, {"set", 4}};
  EXPECT_EQ(delta, want);
}

}  // namespace
}  // namespace ragd::bench
