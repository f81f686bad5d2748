// Streamed jobs through a real redis-server: a worker's pieces reach the asker in order and
// early, coalesced; a cancelled asker cancels the handler; a second run after pieces were
// handed on is an error, never a spliced answer.
#include "ragd/queue/job_client.hpp"
#include "ragd/queue/worker_runner.hpp"
#include "ragd/queue/job_stream.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"

#include "co_assert.hpp"
#include "llm_jobs.hpp"
#include "test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>

namespace ragd::queue {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::eventually;
using test::redis_config;
using test::RedisServer;
using test::run_coro;

using test::job_asking;
using test::queue_config;

JobHandler plain_handler() {
  return [](Job job) -> asio::awaitable<JobReply> {
    JobReply r;
    r.ok = true;
    r.text = "plain:" + job.question;
    co_return r;
  };
}

struct Worker {
  Worker(asio::io_context& io, const RedisServer& server, StreamJobHandler handler,
         QueueConfig config = queue_config())
      : runner(io.get_executor(), redis_config(server), std::move(config), "worker-s", 8, plain_handler()) {
    runner.set_stream_handler(std::move(handler));
    asio::co_spawn(io, runner.run(), [done = done](std::exception_ptr) { *done = true; });
  }
  asio::awaitable<bool> stop_and_wait() {
    runner.stop();
    std::function<bool()> finished = [d = done] { return d->load(); };
    co_return co_await eventually(std::move(finished), 10s);
  }
  WorkerRunner runner;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

// Publishes `pieces` words one millisecond apart, then answers with all of them. When
// `span` is given, it receives the time from the first piece published to the last.
StreamJobHandler word_handler(int pieces, std::shared_ptr<std::chrono::steady_clock::duration> span = nullptr) {
  return [pieces, span](Job job, DeltaPublisher publish) -> asio::awaitable<JobReply> {
    JobReply r;
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto first = std::chrono::steady_clock::now();
    for (int i = 0; i < pieces; ++i) {
      std::string word = (i == 0 ? "" : " ") + job.question + std::to_string(i);
      publish(word);
      if (span) *span = std::chrono::steady_clock::now() - first;
      r.text += word;
      if (i + 1 == pieces) break;
      t.expires_after(1ms);
      co_await t.async_wait(kNoThrow);
    }
    r.ok = true;
    co_return r;
  };
}

TEST(JobStream, HandsOnTheWorkersPiecesInOrderCoalescedThenTheWholeAnswer) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-s");
    client.start();
    auto span = std::make_shared<std::chrono::steady_clock::duration>();
    Worker worker(io, server, word_handler(60, span));
    std::vector<std::string> pieces;
    auto r = co_await client.submit_stream(job_asking("w"), [&pieces](std::string_view d) { pieces.emplace_back(d); });
    CO_ASSERT_TRUE(r.has_value()) << r.error().message;
    CO_ASSERT_TRUE(r->ok);
    std::string joined;
    for (const auto& p : pieces) joined += p;
    EXPECT_EQ(joined, r->text);
    EXPECT_TRUE(r->text.starts_with("w0 w1 w2")) << r->text;
    // The first piece is written at once and the others coalesced: each later entry begins
    // at least queue.delta_coalesce_ms after the one before it, and once the last piece is
    // published one more entry carries what is pending. So the bound follows from how long
    // the handler published (a loaded machine stretches its millisecond pauses), not from a
    // fixed count.
    EXPECT_GE(pieces.size(), 2u);
    const std::chrono::milliseconds coalesce(queue_config().delta_coalesce_ms);
    EXPECT_LE(pieces.size(), static_cast<std::size_t>(*span / coalesce) + 2)
        << "published over " << std::chrono::duration_cast<std::chrono::milliseconds>(*span).count() << " ms";
    EXPECT_FALSE(r->run_id.empty());
    // A job not asked to stream goes to the plain handler.
    auto plain = co_await client.submit(job_asking("p"));
    CO_ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->text, "plain:p");
    EXPECT_TRUE(co_await worker.stop_and_wait());
    client.stop();
  });
}

TEST(JobStream, PiecesAfterTheFirstWaitForTheCoalescingIntervalOrTheAnswersEnd) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-s");
    client.start();
    // An interval far longer than the answer: the first piece goes at once, every later one
    // waits for it and, the answer done first, all of them go together before the reply.
    QueueConfig slow = queue_config();
    slow.delta_coalesce_ms = 1000;
    Worker worker(io, server, word_handler(20), slow);
    std::vector<std::string> pieces;
    auto r = co_await client.submit_stream(job_asking("w"), [&pieces](std::string_view d) { pieces.emplace_back(d); });
    CO_ASSERT_TRUE(r.has_value()) << r.error().message;
    CO_ASSERT_TRUE(r->ok);
    CO_ASSERT_EQ(pieces.size(), 2u);
    EXPECT_TRUE(pieces[0].starts_with("w0")) << pieces[0];
    EXPECT_EQ(pieces[0] + pieces[1], r->text);
    EXPECT_TRUE(r->text.ends_with(" w19")) << r->text;
    EXPECT_TRUE(co_await worker.stop_and_wait());
    client.stop();
  });
}

TEST(JobStream, TheFirstPieceArrivesWhileTheWorkerIsStillAnswering) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-s");
    client.start();
    auto answering = std::make_shared<std::atomic<bool>>(false);
    auto release = std::make_shared<std::atomic<bool>>(false);
    Worker worker(io, server, [answering, release](Job, DeltaPublisher publish) -> asio::awaitable<JobReply> {
      *answering = true;
      publish("first");
      asio::steady_timer t(co_await asio::this_coro::executor);
      while (!*release) {
        t.expires_after(2ms);
        co_await t.async_wait(kNoThrow);
      }
      *answering = false;
      JobReply r;
      r.ok = true;
      r.text = "first and the rest";
      co_return r;
    });
    bool seen_while_answering = false;
    auto r = co_await client.submit_stream(job_asking("q"), [&](std::string_view d) {
      seen_while_answering = d == "first" && *answering;
      *release = true;
    });
    CO_ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(seen_while_answering);
    EXPECT_EQ(r->text, "first and the rest");
    EXPECT_TRUE(co_await worker.stop_and_wait());
    client.stop();
  });
}

TEST(JobStream, AnAskerThatGoesAwayCancelsTheWorkersHandler) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-s");
    client.start();
    auto handler_cancelled = std::make_shared<std::atomic<bool>>(false);
    Worker worker(io, server, [handler_cancelled](Job, DeltaPublisher publish) -> asio::awaitable<JobReply> {
      publish("begun");
      asio::steady_timer t(co_await asio::this_coro::executor, 30s);
      auto [ec] = co_await t.async_wait(kNoThrow);
      *handler_cancelled = ec == asio::error::operation_aborted;
      JobReply r;
      r.error_code = "cancelled";
      co_return r;
    });
    asio::cancellation_signal cancel;
    std::atomic<bool> got_piece{false};
    std::optional<Result<JobReply>> result;
    asio::co_spawn(io, client.submit_stream(job_asking("q", 60s), [&](std::string_view) { got_piece = true; }),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr, Result<JobReply> r) {
                     result.emplace(std::move(r));
                   }));
    CO_ASSERT_TRUE(co_await eventually([&] { return got_piece.load(); }, 10s));
    cancel.emit(asio::cancellation_type::terminal);
    CO_ASSERT_TRUE(co_await eventually([&] { return result.has_value(); }, 5s));
    EXPECT_EQ(result->error().code, Errc::cancelled);
    EXPECT_TRUE(co_await eventually([&] { return handler_cancelled->load(); }, 5s))
        << "the worker's handler was not cancelled";
    EXPECT_TRUE(co_await worker.stop_and_wait());
    client.stop();
  });
}

TEST(JobStream, PiecesOfASecondRunAfterAFirstOneAreAnErrorNotASplicedAnswer) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-s");
    client.start();
    // No worker: the test writes what two runs of one job would, the first dying mid-answer.
    Job job = job_asking("q");
    job.id = "job-restarted";
    std::vector<std::string> pieces;
    std::optional<Result<JobReply>> result;
    asio::co_spawn(io, client.submit_stream(job, [&](std::string_view d) { pieces.emplace_back(d); }),
                   [&](std::exception_ptr, Result<JobReply> r) { result.emplace(std::move(r)); });
    const std::string stream = reply_stream(queue_config(), "gw-s");
    // Commands built first: GCC 12 destroys temporaries in a co_await's operand twice.
    std::vector<redis::Command> writes = {
        delta_command(stream, JobDelta{"job-restarted", "run-a", 1, "The first run "}),
        delta_command(stream, JobDelta{"job-restarted", "run-a", 1, "(a duplicate)"}),
        delta_command(stream, JobDelta{"job-restarted", "run-b", 1, "The second run"})};
    for (auto& w : writes) co_await redis.command(std::move(w));
    CO_ASSERT_TRUE(co_await eventually([&] { return result.has_value(); }, 5s));
    CO_ASSERT_FALSE(result->has_value());
    EXPECT_EQ(result->error().code, Errc::upstream_error);
    EXPECT_EQ(pieces, (std::vector<std::string>{"The first run "}));
    client.stop();
  });
}

}  // namespace
}  // namespace ragd::queue
