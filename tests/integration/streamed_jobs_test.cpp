// Streamed jobs end to end: an in-process JobClient, a real redis-server, ragd-worker
// processes and fake-llm streaming. The worker calls the model with stream=true and the
// pieces arrive before the reply; a client that goes away aborts the model's stream (fake-llm
// counts it); a worker killed mid-answer leaves an error, never a spliced answer.
#include "fake_llm.hpp"
#include "test_support.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/queue/job_client.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <memory>

namespace ragd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeLlm;
using test::Process;

QueueConfig queue_config() {
  QueueConfig q;
  q.heartbeat_interval_ms = 100;
  q.worker_stale_ms = 600;
  return q;
}

// A worker process on `redis`, calling `llm`, with quick heartbeats so a dead one's jobs move.
std::unique_ptr<Process> start_worker(const test::TempDir& dir, const test::RedisServer& redis, const FakeLlm& llm,
                                      const std::string& name) {
  const std::string config = dir.path() + "/" + name + ".json";
  std::ofstream(config) << nlohmann::json{{"queue", {{"heartbeat_interval_ms", 100}, {"worker_stale_ms", 600}}}}.dump();
  return std::make_unique<Process>(
      std::vector<std::string>{test::bin_path("ragd-worker"), "--config", config, "--redis", redis.url(),
                               "--llm-base-url", llm.base_url(), "--name", name},
      std::map<std::string, std::string>{}, dir.path() + "/" + name + ".log");
}

int words(std::string_view s) {
  int n = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

queue::Job job_asking(std::string question, std::chrono::milliseconds within = 30s) {
  queue::Job job;
  job.question = question;
  job.messages = {{"user", std::move(question)}};
  job.deadline_unix_ms = unix_ms() + within.count();
  return job;
}

// The client side, on its own io_context run by the test's thread in small steps.
struct Asker {
  explicit Asker(const test::RedisServer& server)
      : redis(io.get_executor(), test::redis_config(server)),
        client(io.get_executor(), redis, queue_config(), "gw-" + random_id().substr(0, 8)) {
    client.start();
  }
  ~Asker() {
    client.stop();
    io.run_for(100ms);
  }
  // Starts a streamed submit; pieces land in `pieces`, the result in `result`.
  void submit(queue::Job job) {
    asio::co_spawn(io, client.submit_stream(std::move(job), [this](std::string_view d) { pieces.emplace_back(d); }),
                   asio::bind_cancellation_slot(cancel.slot(), [this](std::exception_ptr, Result<queue::JobReply> r) {
                     result.emplace(std::move(r));
                   }));
  }
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) io.run_one_for(10ms);
    return done();
  }
  std::string joined() const {
    std::string s;
    for (const auto& p : pieces) s += p;
    return s;
  }

  asio::io_context io;
  redis::Client redis;
  queue::JobClient client;
  asio::cancellation_signal cancel;
  std::vector<std::string> pieces;
  std::optional<Result<queue::JobReply>> result;
};

TEST(StreamedJobs, TheWorkerStreamsTheModelsAnswerPieceByPieceBeforeTheReply) {
  test::TempDir dir;
  test::RedisServer redis;
  FakeLlm llm({"--answer-words", "60", "--first-token-ms", "50", "--inter-token-ms", "5"});
  auto worker = start_worker(dir, redis, llm, "w1");
  Asker asker(redis);
  asker.submit(job_asking("How do tides work?"));
  ASSERT_TRUE(asker.run_until([&] { return asker.result.has_value(); }, 20s)) << worker->log();
  ASSERT_TRUE(asker.result->has_value()) << asker.result->error().message << "\n" << worker->log();
  const queue::JobReply& reply = **asker.result;
  ASSERT_TRUE(reply.ok) << reply.error_message;
  EXPECT_EQ(words(reply.text), 60);
  EXPECT_TRUE(reply.text.starts_with("fake answer to: How do tides work?")) << reply.text;
  EXPECT_EQ(asker.joined(), reply.text);
  // 60 words 5 ms apart, coalesced into entries at least 4 ms apart: several, not one.
  EXPECT_GE(asker.pieces.size(), 5u);
  EXPECT_LE(asker.pieces.size(), 60u);
  EXPECT_EQ(llm.stat("stream_calls"), 1);
  EXPECT_EQ(llm.stat("streams_completed"), 1);
  worker->stop();
}

TEST(StreamedJobs, AnAskerThatGoesAwayAbortsTheModelsStream) {
  test::TempDir dir;
  test::RedisServer redis;
  // 2,000 words 5 ms apart: ten seconds of stream unless it is aborted.
  FakeLlm llm({"--answer-words", "2000", "--inter-token-ms", "5"});
  auto worker = start_worker(dir, redis, llm, "w1");
  Asker asker(redis);
  asker.submit(job_asking("Talk for a long time."));
  ASSERT_TRUE(asker.run_until([&] { return !asker.pieces.empty(); }, 20s)) << worker->log();
  asker.cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(asker.run_until([&] { return asker.result.has_value(); }, 5s));
  EXPECT_EQ(asker.result->error().code, Errc::cancelled);
  // The cancel notice is written after the wait has ended: the client's io_context runs on.
  EXPECT_TRUE(asker.run_until([&] { return llm.stat("streams_aborted") == 1; }, 5s)) << worker->log();
  EXPECT_EQ(llm.stat("streams_completed"), 0);
  worker->stop();
}

TEST(StreamedJobs, AWorkerKilledMidAnswerLeavesAnErrorNotASplicedAnswer) {
  test::TempDir dir;
  test::RedisServer redis;
  FakeLlm llm({"--answer-words", "400", "--inter-token-ms", "10"});
  auto first = start_worker(dir, redis, llm, "w1");
  Asker asker(redis);
  asker.submit(job_asking("Talk for a while."));
  ASSERT_TRUE(asker.run_until([&] { return !asker.pieces.empty(); }, 20s)) << first->log();
  first->signal(SIGKILL);
  ASSERT_TRUE(first->wait(5s).has_value());
  // Another worker takes the dead one's job over and runs it again.
  auto second = start_worker(dir, redis, llm, "w2");
  ASSERT_TRUE(asker.run_until([&] { return asker.result.has_value(); }, 20s)) << second->log();
  ASSERT_FALSE(asker.result->has_value());
  EXPECT_EQ(asker.result->error().code, Errc::upstream_error) << asker.result->error().message;
  EXPECT_LT(words(asker.joined()), 400);
  EXPECT_EQ(llm.stat("stream_calls"), 2) << second->log();
  second->stop();
}

}  // namespace
}  // namespace ragd
