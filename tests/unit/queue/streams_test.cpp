#include "ragd/queue/streams.hpp"

#include "redis_replies.hpp"
#include <gtest/gtest.h>

namespace ragd::queue {
namespace {

constexpr auto str = test::reply_string;
constexpr auto integer = test::reply_integer;
constexpr auto array = test::reply_array;

TEST(QueueStreams, EachPriorityHasItsStreamAndBound) {
  QueueConfig c;
  c.jobs_stream = "x:jobs";
  c.max_depth = 10;
  c.max_depth_refresh = 2;
  c.max_depth_batch = 3;
  auto streams = priority_streams(c);
  EXPECT_EQ(streams[0], "x:jobs");
  EXPECT_EQ(streams[1], "x:jobs:refresh");
  EXPECT_EQ(streams[2], "x:jobs:batch");
  EXPECT_EQ(stream_for(c, Priority::batch), "x:jobs:batch");
  EXPECT_EQ(dead_letter_stream(c), "x:jobs:dead");
  EXPECT_EQ(depth_bound(c, Priority::interactive), 10);
  EXPECT_EQ(depth_bound(c, Priority::refresh), 2);
  EXPECT_EQ(depth_bound(c, Priority::batch), 3);
}

TEST(QueueStreams, MultiStreamReadKeepsEachStreamsEntries) {
  auto entry = [](std::string id, std::string payload) {
    return array({str(std::move(id)), array({str("job"), str(std::move(payload))})});
  };
  redis::Reply deleted = array({str("3-0"), redis::Reply{}});
  auto reply = array({array({str("ragd:jobs"), array({entry("1-0", "a"), entry("2-0", "b")})}),
                      array({str("ragd:jobs:batch"), array({deleted})})});
  auto batches = parse_streams_read(reply);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].stream, "ragd:jobs");
  ASSERT_EQ(batches[0].records.size(), 2u);
  EXPECT_EQ(batches[0].records[1].id, "2-0");
  ASSERT_NE(batches[0].records[1].field("job"), nullptr);
  EXPECT_EQ(*batches[0].records[1].field("job"), "b");
  EXPECT_EQ(batches[1].stream, "ragd:jobs:batch");
  ASSERT_EQ(batches[1].records.size(), 1u);
  EXPECT_TRUE(batches[1].records[0].deleted);
  EXPECT_TRUE(parse_streams_read(redis::Reply{}).empty()) << "nil: the blocking read timed out";
}

TEST(QueueStreams, PendingDeliveriesComeFromTheExtendedXpendingForm) {
  auto reply = array({array({str("1-0"), str("worker-a"), integer(1500), integer(3)})});
  EXPECT_EQ(parse_pending_deliveries(reply), 3);
  EXPECT_EQ(parse_pending_deliveries(array({})), std::nullopt);
  EXPECT_EQ(parse_pending_deliveries(integer(4)), std::nullopt);
}

TEST(QueueStreams, GroupConsumersComeWithTheJobsEachHolds) {
  // XINFO CONSUMERS (Redis 7.2 adds "inactive"; unknown fields are skipped).
  auto reply = array({array({str("name"), str("w1"), str("pending"), integer(2), str("idle"), integer(10),
                             str("inactive"), integer(5)}),
                      array({str("pending"), integer(1)}),
                      array({str("name"), str("w2"), str("pending"), integer(0), str("idle"), integer(7)})});
  auto consumers = parse_group_consumers(reply);
  ASSERT_EQ(consumers.size(), 2u) << "an entry without a name is skipped";
  EXPECT_EQ(consumers[0].name, "w1");
  EXPECT_EQ(consumers[0].pending, 2);
  EXPECT_EQ(consumers[1].name, "w2");
  EXPECT_EQ(consumers[1].pending, 0);
  EXPECT_TRUE(parse_group_consumers(integer(1)).empty());
}

TEST(QueueStreams, HeartbeatsComeFromZrangeWithScores) {
  auto beats = parse_heartbeats(array({str("w1"), str("1765000000123"), str("w2"), str("1.5e3"), str("w3")}));
  EXPECT_EQ(beats, (std::map<std::string, std::int64_t>{{"w1", 1765000000123}, {"w2", 1500}}));
  EXPECT_TRUE(parse_heartbeats(redis::Reply{}).empty());
}

TEST(QueueStreams, AJobIsExhaustedOnceItRanMaxAttemptsTimes) {
  EXPECT_FALSE(exhausted(1, 3));
  EXPECT_FALSE(exhausted(3, 3));
  EXPECT_TRUE(exhausted(4, 3));
  EXPECT_TRUE(exhausted(2, 1));
}

}  // namespace
}  // namespace ragd::queue
