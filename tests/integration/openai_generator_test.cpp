// OpenAiGenerator against the fake model server (a real process): answers, streaming,
// retries, Retry-After, deadlines, cancellation and connection reuse.
#include "ragd/llm/openai_generator.hpp"

#include "fake_llm.hpp"
#include "ragd/core/ids.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "llm_jobs.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ragd::llm {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;
using test::FakeLlm;

using test::chat_job;

LlmConfig config_for(const std::string& base_url, int max_attempts = 3) {
  return test::llm_config_for(base_url, max_attempts);
}

// Runs one generate() on a fresh io_context (run_coro: a hang fails the test).
Result<GenerateResult> generate(LlmConfig cfg, queue::Job job,
                                               OpenAiGeneratorOptions options = {}) {
  return test::run_coro<Result<GenerateResult>>(
      [cfg, job, options](asio::io_context& io) -> asio::awaitable<Result<GenerateResult>> {
        OpenAiGenerator gen(io.get_executor(), cfg, options);
        co_return co_await gen.generate(job);
      });
}

// The worker decodes jobs for this generator in forwarding mode: the messages go out as the
// job carried them, and the model reads the same request as from a job decoded in full.

TEST(OpenAiGenerator, AnswersAForwardedJob) {
  FakeLlm fake;
  const std::string question = "What is \"ragd\"?\n\xc3\xa9t\xc3\xa9 \\ done";
  auto forwarded = queue::decode_job(queue::encode_job(chat_job(question)), queue::JobDecoding::forwarding);
  ASSERT_TRUE(forwarded);
  auto r = generate(config_for(fake.base_url()), *forwarded);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, "fake answer to: " + question);
}

TEST(OpenAiGenerator, ReturnsTheServersAnswer) {
  FakeLlm fake;
  auto r = generate(config_for(fake.base_url()), chat_job("What is ragd?"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, "fake answer to: What is ragd?");
  EXPECT_EQ(r->model, "test-model");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_GT(r->prompt_tokens, 0);
  EXPECT_GT(r->completion_tokens, 0);
  EXPECT_EQ(fake.stat("chat_calls"), 1);
}

TEST(OpenAiGenerator, AcceptsABaseUrlEndingInV1) {
  FakeLlm fake;
  auto r = generate(config_for(fake.base_url() + "/v1/"), chat_job("hi"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->text, "fake answer to: hi");
}

TEST(OpenAiGenerator, RetriesServerErrorsUntilItSucceeds) {
  FakeLlm fake({"--fail-first", "2"});
  auto r = generate(config_for(fake.base_url(), 3), chat_job("retry me"), {10ms, 50ms});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, "fake answer to: retry me");
  EXPECT_EQ(fake.stat("chat_calls"), 3);
  EXPECT_EQ(fake.stat("status_500_injected"), 2);
}

TEST(OpenAiGenerator, GivesUpAfterMaxAttemptsWithTheUpstreamError) {
  FakeLlm fake({"--fail-first", "10"});
  auto r = generate(config_for(fake.base_url(), 2), chat_job("never"), {10ms, 50ms});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_NE(r.error().message.find("HTTP 500"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("injected"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().detail, "internal server error (injected)");
  EXPECT_EQ(fake.stat("chat_calls"), 2);
}

TEST(OpenAiGenerator, WaitsForRetryAfterOn429ThenSucceeds) {
  FakeLlm fake({"--fail-first", "1", "--fail-first-status", "429"});
  const auto start = std::chrono::steady_clock::now();
  auto r = generate(config_for(fake.base_url(), 3), chat_job("slow down"), {10ms, 50ms});
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake.stat("status_429_injected"), 1);
  EXPECT_EQ(fake.stat("chat_calls"), 2);
  // Retry-After: 1 was honoured over the 10 ms backoff.
  EXPECT_GE(waited, 900ms);
}

TEST(OpenAiGenerator, DoesNotSleepPastTheDeadlineForRetryAfter) {
  FakeLlm fake({"--status-429-rate", "1"});
  auto r = generate(config_for(fake.base_url(), 3), chat_job("no time", 500ms), {10ms, 50ms});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_NE(r.error().message.find("429"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake.stat("chat_calls"), 1);
}

TEST(OpenAiGenerator, HangingServerEndsInDeadlineExceeded) {
  FakeLlm fake({"--hang-rate", "1"});
  auto r = generate(config_for(fake.base_url(), 3), chat_job("hello?", 400ms), {10ms, 50ms});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded) << r.error().message;
}

TEST(OpenAiGenerator, PassedDeadlineFailsWithoutCallingTheServer) {
  FakeLlm fake;
  queue::Job job = chat_job("late");
  job.deadline_unix_ms = unix_ms() - 1000;
  auto r = generate(config_for(fake.base_url()), job);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded);
  EXPECT_EQ(fake.stat("chat_calls"), 0);
}

TEST(OpenAiGenerator, UnreachableServerIsUnavailable) {
  LlmConfig cfg = config_for("http://127.0.0.1:" + std::to_string(test::free_port()), 2);
  auto r = generate(cfg, chat_job("anyone?"), {10ms, 50ms});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().message;
}

TEST(OpenAiGenerator, CancellationEndsAnInFlightCall) {
  FakeLlm fake({"--hang-rate", "1"});
  asio::io_context io;
  asio::cancellation_signal cancel;
  std::optional<Result<GenerateResult>> got;
  OpenAiGenerator gen(io.get_executor(), config_for(fake.base_url()));
  asio::co_spawn(io, gen.generate(chat_job("wait", 60s)),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, Result<GenerateResult> r) {
                   if (e) got.emplace(make_error(Errc::internal, "exception"));
                   else got.emplace(std::move(r));
                 }));
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (fake.stat("hangs_injected") == 0 && std::chrono::steady_clock::now() < until) io.run_for(20ms);
  ASSERT_EQ(fake.stat("hangs_injected"), 1);
  cancel.emit(asio::cancellation_type::terminal);
  while (!got && std::chrono::steady_clock::now() < until) io.run_one_for(50ms);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->has_value());
  EXPECT_EQ(got->error().code, Errc::cancelled) << got->error().message;
}

// With as many idle connections kept as calls in flight, rounds of concurrent calls reuse
// the first round's connections; with fewer (the old fixed 64), every round past it opened
// new TCP connections for the calls beyond the cache.
TEST(OpenAiGenerator, ConcurrentRoundsReuseTheirKeepAliveConnections) {
  FakeLlm fake({"--latency-ms", "100"});
  constexpr int kCalls = 96;
  constexpr int kRounds = 3;
  LlmConfig cfg = config_for(fake.base_url());
  cfg.max_idle_connections = kCalls;
  asio::io_context io;
  OpenAiGenerator gen(io.get_executor(), cfg);
  int ok = 0;
  for (int round = 0; round < kRounds; ++round) {
    io.restart();  // the previous round ran out of work
    int done = 0;
    for (int i = 0; i < kCalls; ++i) {
      asio::co_spawn(io, gen.generate(chat_job("q" + std::to_string(i))),
                     [&](std::exception_ptr e, Result<GenerateResult> r) {
                       ++done;
                       if (!e && r) ++ok;
                     });
    }
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (done < kCalls && std::chrono::steady_clock::now() < until) io.run_for(20ms);
    ASSERT_EQ(done, kCalls);
  }
  EXPECT_EQ(ok, kCalls * kRounds);
  EXPECT_EQ(fake.stat("chat_calls"), kCalls * kRounds);
  EXPECT_LE(fake.stat("connections_accepted"), kCalls + 4);
}

// Runs one generate_stream(); the deltas land in `deltas`.
Result<GenerateResult> generate_streamed(LlmConfig cfg, queue::Job job,
                                                        std::vector<std::string>* deltas,
                                                        OpenAiGeneratorOptions options = {}) {
  return test::run_coro<Result<GenerateResult>>(
      [cfg, job, options, deltas](asio::io_context& io) -> asio::awaitable<Result<GenerateResult>> {
        OpenAiGenerator gen(io.get_executor(), cfg, options);
        co_return co_await gen.generate_stream(job, [deltas](std::string_view d) { deltas->emplace_back(d); });
      });
}

TEST(OpenAiGenerator, StreamsTheAnswerWordByWordAndReturnsItWhole) {
  FakeLlm fake({"--answer-words", "12"});
  std::vector<std::string> list;
  auto* deltas = &list;
  auto r = generate_streamed(config_for(fake.base_url()), chat_job("What is ragd?"), deltas);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const std::string answer = "fake answer to: What is ragd? lorem ipsum dolor sit amet consectetur";
  EXPECT_EQ(r->text, answer);
  EXPECT_EQ(deltas->size(), 12u);
  std::string joined;
  for (const auto& d : *deltas) joined += d;
  EXPECT_EQ(joined, answer);
  EXPECT_EQ(r->model, "test-model");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->completion_tokens, 12);
  EXPECT_GT(r->prompt_tokens, 0);
  EXPECT_EQ(fake.stat("stream_calls"), 1);
  EXPECT_EQ(fake.stat("streams_completed"), 1);
  // The same question unstreamed gets the same text.
  auto whole = generate(config_for(fake.base_url()), chat_job("What is ragd?"));
  ASSERT_TRUE(whole.has_value()) << whole.error().message;
  EXPECT_EQ(whole->text, answer);
}

TEST(OpenAiGenerator, RetriesAStreamThatFailedBeforeItsFirstDelta) {
  FakeLlm fake({"--fail-first", "1"});
  std::vector<std::string> list;
  auto* deltas = &list;
  auto r = generate_streamed(config_for(fake.base_url(), 3), chat_job("retry me"), deltas, {10ms, 50ms});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, "fake answer to: retry me");
  EXPECT_EQ(fake.stat("chat_calls"), 2);
  EXPECT_EQ(fake.stat("streams_completed"), 1);
}

TEST(OpenAiGenerator, AStreamFailingWithAStatusIsTheUpstreamError) {
  FakeLlm fake({"--fail-first", "5"});
  std::vector<std::string> list;
  auto* deltas = &list;
  auto r = generate_streamed(config_for(fake.base_url(), 1), chat_job("fail"), deltas);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_NE(r.error().message.find("HTTP 500"), std::string::npos) << r.error().message;
  EXPECT_TRUE(deltas->empty());
}

// Cancelling a streamed call mid-answer closes its connection, and the model server sees
// the client go away (fake-llm counts an aborted stream).
TEST(OpenAiGenerator, CancellingAStreamAbortsTheUpstreamCall) {
  FakeLlm fake({"--answer-words", "1000", "--inter-token-ms", "20"});
  asio::io_context io;
  asio::cancellation_signal cancel;
  std::optional<Result<GenerateResult>> got;
  int deltas = 0;
  OpenAiGenerator gen(io.get_executor(), config_for(fake.base_url()));
  asio::co_spawn(io, gen.generate_stream(chat_job("talk", 60s), [&deltas](std::string_view) { ++deltas; }),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, Result<GenerateResult> r) {
                   if (e) got.emplace(make_error(Errc::internal, "exception"));
                   else got.emplace(std::move(r));
                 }));
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (deltas < 3 && std::chrono::steady_clock::now() < until) io.run_one_for(20ms);
  ASSERT_GE(deltas, 3);
  cancel.emit(asio::cancellation_type::terminal);
  while (!got && std::chrono::steady_clock::now() < until) io.run_one_for(50ms);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->has_value());
  EXPECT_EQ(got->error().code, Errc::cancelled) << got->error().message;
  EXPECT_TRUE(test::wait_until([&] { return fake.stat("streams_aborted") == 1; }, 5s));
  EXPECT_EQ(fake.stat("streams_completed"), 0);
}

TEST(MakeGenerator, PicksTheOpenAiClientWhenABaseUrlIsSet) {
  FakeLlm fake;
  auto r = test::run_coro<Result<GenerateResult>>(
      [url = fake.base_url()](asio::io_context& io) -> asio::awaitable<Result<GenerateResult>> {
        auto gen = make_generator(io.get_executor(), config_for(url));
        co_return co_await gen->generate(chat_job("which one?"));
      });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->text, "fake answer to: which one?");
}

}  // namespace
}  // namespace ragd::llm
