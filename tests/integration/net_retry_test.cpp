// send_with_retries() against the fake model server (a real process): retried server
// errors, the last response when attempts run out, no repeat of a rejected request, and
// the deadline against a server that hangs.
#include "ragd/net/retry.hpp"

#include "fake_llm.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace ragd::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeLlm;

RetryPolicy fast_policy(int attempts, std::chrono::milliseconds attempt_timeout = 5s) {
  RetryPolicy p;
  p.service = "test service";
  p.max_attempts = attempts;
  p.attempt_timeout = attempt_timeout;
  p.backoff_base = 5ms;
  p.backoff_cap = 20ms;
  return p;
}

Result<HttpResponse> send(HttpRequest req, RetryPolicy policy,
                          std::optional<std::chrono::milliseconds> budget = std::nullopt) {
  return test::run_coro<Result<HttpResponse>>(
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
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(fake.stat("embedding_calls"), 3);
}

TEST(SendWithRetries, ReturnsTheLastRetriedResponseWhenAttemptsRunOut) {
  FakeLlm fake({"--fail-first", "5"});
  auto r = send(embeddings_request(fake, R"({"input":["a"]})"), fast_policy(2));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
}

TEST(SendWithRetries, DoesNotRepeatARequestTheServerRejects) {
  FakeLlm fake;
  auto r = send(embeddings_request(fake, R"({"input":[]})"), fast_policy(3));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(fake.stat("embedding_calls"), 1);
}

TEST(SendWithRetries, HangingServerEndsAtTheDeadlineNamingTheService) {
  FakeLlm fake({"--hang-rate", "1"});
  auto r = send(embeddings_request(fake, R"({"input":["a"]})"), fast_policy(5, 200ms), 500ms);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded);
  EXPECT_NE(r.error().message.find("test service did not answer before the deadline"), std::string::npos)
      << r.error().message;
  EXPECT_LE(fake.stat("embedding_calls"), 3);
}

}  // namespace
}  // namespace ragd::net
