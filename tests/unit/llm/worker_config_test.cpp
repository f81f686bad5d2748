#include "ragd/llm/worker_config.hpp"

#include <gtest/gtest.h>

using namespace ragd;

TEST(WorkerConfig, RejectsUnknownLlmKey) {
  auto c = parse_worker_config(R"({"llm": {"base_ulr": "http://x"}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("llm.base_ulr"), std::string::npos);
}

TEST(WorkerConfig, ValidateRejectsBadBaseUrl) {
  auto c = parse_worker_config(R"({"llm": {"base_url": "ftp://x"}})");
  ASSERT_TRUE(c);
  EXPECT_FALSE(validate(*c));
}

TEST(WorkerConfig, ReadsAndBoundsTheLlmIdleConnections) {
  auto c = parse_worker_config(R"({"llm": {"max_idle_connections": 128}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->llm.max_idle_connections, 128);
  EXPECT_TRUE(validate(*c));
  auto bad = parse_worker_config(R"({"llm": {"max_idle_connections": -1}})");
  ASSERT_TRUE(bad);
  auto v = validate(*bad);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("max_idle_connections"), std::string::npos);
}

TEST(WorkerConfig, QueueKeysFollowTheRedisKeyPrefix) {
  auto w = parse_worker_config(R"({"redis": {"key_prefix": "tenant-b:"}})");
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->queue.key_prefix, "tenant-b:");
  EXPECT_EQ(w->queue.jobs_stream, "tenant-b:jobs");
}

TEST(WorkerConfig, ReadsAndBoundsTheDeltaCoalescingInterval) {
  auto d = parse_worker_config("{}");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->queue.delta_coalesce_ms, 16);
  auto c = parse_worker_config(R"({"queue": {"delta_coalesce_ms": 0}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->queue.delta_coalesce_ms, 0);
  EXPECT_TRUE(validate(*c));
  auto bad = parse_worker_config(R"({"queue": {"delta_coalesce_ms": 5000}})");
  ASSERT_TRUE(bad);
  auto v = validate(*bad);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("delta_coalesce_ms"), std::string::npos);
}
