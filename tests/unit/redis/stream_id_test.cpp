#include "ragd/redis/stream_id.hpp"

#include <gtest/gtest.h>

using ragd::redis::parse_stream_id;

TEST(StreamId, ParsesAndOrdersNumerically) {
  auto a = parse_stream_id("1700000000000-9");
  auto b = parse_stream_id("1700000000000-10");
  ASSERT_TRUE(a && b);
  EXPECT_LT(*a, *b);
  EXPECT_EQ(a->ms, 1700000000000u);
  EXPECT_EQ(to_string(*b), "1700000000000-10");
  EXPECT_FALSE(parse_stream_id("17-"));
  EXPECT_FALSE(parse_stream_id("-3"));
  EXPECT_FALSE(parse_stream_id("abc"));
  EXPECT_FALSE(parse_stream_id("1-2-3"));
  EXPECT_FALSE(parse_stream_id(""));
}
