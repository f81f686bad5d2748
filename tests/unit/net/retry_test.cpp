#include "ragd/net/retry.hpp"

#include "fake_llm_process.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace ragd::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeLlm;

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
  EXPECT_EQ(e.message, "embedding service returned HTTP 503: busy");
}

RetryPolicy fast_policy(int attempts, std::chrono::milliseconds attempt_timeout = 5s) {
  RetryPolicy p;
  p.service = "test service";
  p.max_attempts = attempts;
  p.attempt_timeout = attempt_timeout;
  p.backoff_base = 5ms;
  p.backoff_cap = 20ms;
  return p;
}

std::optional<Result<HttpResponse>> send(HttpRequest req, RetryPolicy policy,
                                         std::optional<std::chrono::milliseconds> budget = std::nullopt) {
  return test::run_bounded<Result<HttpResponse>>(
      [req, policy, budget](asio::io_context& io) -> asio::awaitable<Result<HttpResponse>> {
        HttpClient http(io.get_executor());
        std::optional<std::chrono::steady_clock::time_point> deadline;
        if (budget) deadline = std::chrono::steady_clock::now() + *budget;
        co_return co_await send_with_retries(http, req, policy, deadline);
      });
}

HttpRequest embeddings_request(const FakeLlm& fake, std::string body) {
  HttpRequest req;
  req.url = fake.url("/v1/embeddings");
  req.headers = {{"Content-Type", "application/json"}};
  req.body = std::move(body);
  return req;
}

TEST(SendWithRetries, RepeatsServerErrorsAndReturnsTheFirstSuccess) {
  FakeLlm fake({"--fail-first", "2"});
  auto r = send(embeddings_request(fake, R"({"input":["a"]})"), fast_policy(3));
  ASSERT_TRUE(r && r->has_value()) << (r ? (*r).error().message : "timed out");
  EXPECT_EQ((*r)->status, 200);
  EXPECT_EQ(fake.stat("embedding_calls"), 3);
}

TEST(SendWithRetries, ReturnsTheLastRetriedResponseWhenAttemptsRunOut) {
  FakeLlm fake({"--fail-first", "5"});
  auto r = send(embeddings_request(fake, R"({"input":["a"]})"), fast_policy(2));
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->status, 500);
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
}

TEST(SendWithRetries, DoesNotRepeatARequestTheServerRejects) {
  FakeLlm fake;
  auto r = send(embeddings_request(fake, R"({"input":[]})"), fast_policy(3));
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->status, 400);
  EXPECT_EQ(fake.stat("embedding_calls"), 1);
}

TEST(SendWithRetries, HangingServerEndsAtTheDeadlineNamingTheService) {
  FakeLlm fake({"--hang-rate", "1"});
  auto r = send(embeddings_request(fake, R"({"input":["a"]})"), fast_policy(5, 200ms), 500ms);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().code, Errc::deadline_exceeded);
  EXPECT_NE(r->error().message.find("test service did not answer before the deadline"), std::string::npos)
      << r->error().message;
  EXPECT_LE(fake.stat("embedding_calls"), 3);
}

}  // namespace
}  // namespace ragd::net
