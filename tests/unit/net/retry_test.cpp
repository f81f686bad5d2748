// The retry policy's pure parts: Retry-After, backoff and upstream messages. Retries
// against a real server are tests/integration/net_retry_test.cpp.
#include "ragd/net/retry.hpp"

#include <gtest/gtest.h>

namespace ragd::net {
namespace {

using namespace std::chrono_literals;

TEST(ParseRetryAfter, ReadsDelaySecondsOnly) {
  EXPECT_EQ(parse_retry_after("1"), std::optional<std::chrono::milliseconds>(1000ms));
  EXPECT_EQ(parse_retry_after(" 2.5 "), std::optional<std::chrono::milliseconds>(2500ms));
  EXPECT_FALSE(parse_retry_after("").has_value());
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parse_retry_after("-1").has_value());
}

TEST(BackoffDelay, GrowsExponentiallyWithinTheCap) {
  EXPECT_EQ(backoff_delay(1, 0.0, 100ms, 2000ms), 50ms);
  EXPECT_EQ(backoff_delay(1, 1.0, 100ms, 2000ms), 100ms);
  EXPECT_EQ(backoff_delay(3, 1.0, 100ms, 2000ms), 400ms);
  EXPECT_EQ(backoff_delay(20, 1.0, 100ms, 2000ms), 2000ms);
  EXPECT_GE(backoff_delay(20, 0.0, 100ms, 2000ms), 1000ms);
}

TEST(UpstreamMessage, ReadsTheShapesServersUseAndCutsLongText) {
  EXPECT_EQ(upstream_message(R"({"error":{"message":"model not found"}})"), "model not found");
  EXPECT_EQ(upstream_message(R"({"error":"overloaded"})"), "overloaded");
  EXPECT_EQ(upstream_message(R"({"detail":"bad input"})"), "bad input");
  EXPECT_EQ(upstream_message("plain\ntext"), "plain text");
  EXPECT_EQ(upstream_message(std::string(500, 'x'), 10), std::string(10, 'x') + "...");
  Error e = http_status_error("embedding service", 503, R"({"error":{"message":"busy"}})");
  EXPECT_EQ(e.code, Errc::upstream_error);
  EXPECT_EQ(e.message, "embedding service returned HTTP 503");  // what a client may be told
  EXPECT_EQ(e.detail, "busy");                                     // the service's own words: the log's
}

}  // namespace
}  // namespace ragd::net
