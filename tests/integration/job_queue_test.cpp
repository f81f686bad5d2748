// JobClient and WorkerRunner through a real redis-server: answers, deadlines, shedding,
// priorities, recovery of a dead consumer's jobs, dead letters and a Redis restart.
#include "ragd/queue/job_client.hpp"
#include "ragd/queue/worker_runner.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"

#include "co_assert.hpp"
#include "llm_jobs.hpp"
#include "test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>

namespace ragd::queue {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RedisServer;
using test::run_coro;
using test::eventually;
using test::redis_config;
using test::sleep_for;

using test::job_asking;
using test::queue_config;

JobHandler echo_handler(std::shared_ptr<std::atomic<int>> calls = nullptr) {
  return [calls](Job job) -> asio::awaitable<JobReply> {
    if (calls) ++*calls;
    JobReply r;
    r.ok = true;
    r.text = "echo:" + job.question;
    r.model = job.model;
    co_return r;
  };
}

// A worker running on the test's io_context; stop_and_wait() stops it and waits for run().
struct RunningWorker {
  RunningWorker(asio::io_context& io, const RedisServer& server, JobHandler handler,
                std::string name = "worker-a", int concurrency = 16)
      : runner(io.get_executor(), redis_config(server), queue_config(), std::move(name),
               concurrency, std::move(handler)) {
    asio::co_spawn(io, runner.run(), [done = done](std::exception_ptr) { *done = true; });
  }
  asio::awaitable<bool> stop_and_wait() {
    runner.stop();
    // Named first: GCC 12 destroys a lambda built inside a co_await expression twice.
    std::function<bool()> finished = [d = done] { return d->load(); };
    co_return co_await eventually(std::move(finished), 10s);
  }
  WorkerRunner runner;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

TEST(JobQueue, ConcurrentSubmitsEachGetTheirOwnAnswer) {
  RedisServer server;
  constexpr int kJobs = 200;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    RunningWorker worker(io, server, echo_handler());

    std::atomic<int> finished{0};
    std::atomic<int> correct{0};
    for (int i = 0; i < kJobs; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            auto r = co_await client.submit(job_asking("q" + std::to_string(i)));
            if (r && r->ok && r->text == "echo:q" + std::to_string(i) && r->worker == "worker-a") {
              ++correct;
            } else if (!r) {
              ADD_FAILURE() << "submit " << i << ": " << r.error().message;
            }
            ++finished;
          },
          asio::detached);
    }
    EXPECT_TRUE(co_await eventually([&] { return finished == kJobs; }, 60s));
    EXPECT_EQ(correct.load(), kJobs);
    EXPECT_EQ(client.in_flight(), 0);
    // The worker counts a job and deletes it from the stream after writing its reply, so a
    // client can hold every answer a moment before the worker's bookkeeping catches up.
    std::function<bool()> all_counted = [&] { return worker.runner.processed() >= kJobs; };
    EXPECT_TRUE(co_await eventually(std::move(all_counted), 10s))
        << "processed=" << worker.runner.processed();
    std::int64_t last_depth = -1;
    for (int i = 0; i < 1000 && last_depth != 0; ++i) {
      auto depth = co_await client.depth();
      last_depth = depth ? *depth : -1;
      if (last_depth != 0) co_await sleep_for(10ms);
    }
    EXPECT_EQ(last_depth, 0) << "acknowledged jobs are deleted from the stream";
    EXPECT_TRUE(co_await worker.stop_and_wait());
    client.stop();
  });
}

TEST(JobQueue, PassedDeadlineFailsQuicklyWithoutCallingTheHandler) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();

    // Already past: refused before anything is queued.
    Job late = job_asking("late");
    late.deadline_unix_ms = unix_ms() - 1;
    auto r = co_await client.submit(late);
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::deadline_exceeded);

    // No worker: the wait ends at the deadline.
    auto start = std::chrono::steady_clock::now();
    auto waited = co_await client.submit(job_asking("nobody home", 300ms));
    CO_ASSERT_FALSE(waited);
    EXPECT_EQ(waited.error().code, Errc::deadline_exceeded);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(client.in_flight(), 0);

    // The expired job is deleted from the stream: no worker ever runs it.
    EXPECT_TRUE(co_await eventually([&] { return client.forgotten() == 1; }, 5s));
    auto calls = std::make_shared<std::atomic<int>>(0);
    RunningWorker worker(io, server, echo_handler(calls));
    co_await sleep_for(300ms);
    EXPECT_EQ(calls->load(), 0);
    auto depth = co_await client.depth();
    CO_ASSERT_TRUE(depth);
    EXPECT_EQ(*depth, 0);
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, DeploymentsUnderDifferentKeyPrefixesNeverShareJobs) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    QueueConfig other = queue_config();
    other.key_prefix = "other:";
    other.jobs_stream = "other:jobs";
    JobClient client(io.get_executor(), redis, other, "gw-1");
    client.start();
    // A worker of the default deployment must not take the other deployment's job.
    auto calls = std::make_shared<std::atomic<int>>(0);
    RunningWorker default_worker(io, server, echo_handler(calls), "worker-default");

    std::optional<Result<JobReply>> answer;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { answer = co_await client.submit(job_asking("isolated", 20s)); },
        asio::detached);
    bool queued = false;
    for (int i = 0; i < 200 && !queued; ++i) {
      queued = server.cli({"XLEN", "other:jobs"}) == "1";
      if (!queued) co_await sleep_for(10ms);
    }
    CO_ASSERT_TRUE(queued);
    co_await sleep_for(300ms);
    EXPECT_EQ(calls->load(), 0) << "the default deployment's worker ran another deployment's job";
    EXPECT_FALSE(answer.has_value());
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs"}), "0") << "the job went to the default stream";

    WorkerRunner other_worker(io.get_executor(), redis_config(server), other, "worker-other", 4, echo_handler());
    auto other_done = std::make_shared<std::atomic<bool>>(false);
    asio::co_spawn(io, other_worker.run(), [other_done](std::exception_ptr) { *other_done = true; });
    std::function<bool()> answered = [&] { return answer.has_value(); };
    EXPECT_TRUE(co_await eventually(std::move(answered), 15s));
    CO_ASSERT_TRUE(answer.has_value());
    CO_ASSERT_TRUE(*answer) << answer->error().message;
    EXPECT_EQ((*answer)->worker, "worker-other");
    EXPECT_EQ(server.cli({"ZSCORE", "other:workers", "worker-other"}).empty(), false);
    EXPECT_EQ(server.cli({"EXISTS", "other:replies:gw-1"}), "1");

    other_worker.stop();
    std::function<bool()> stopped = [other_done] { return other_done->load(); };
    EXPECT_TRUE(co_await eventually(std::move(stopped), 10s));
    EXPECT_TRUE(co_await default_worker.stop_and_wait());
    client.stop();
  });
}

TEST(JobQueue, JobEnqueuedBeforeAnyWorkerStartedIsProcessed) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();

    std::optional<Result<JobReply>> answer;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { answer = co_await client.submit(job_asking("early", 20s)); },
        asio::detached);
    bool queued = false;
    for (int i = 0; i < 200 && !queued; ++i) {
      auto d = co_await client.depth();
      queued = d && *d == 1;
      if (!queued) co_await sleep_for(10ms);
    }
    CO_ASSERT_TRUE(queued);
    EXPECT_EQ(server.cli({"EXISTS", "ragd:jobs"}), "1");

    RunningWorker worker(io, server, echo_handler());
    EXPECT_TRUE(co_await eventually([&] { return answer.has_value(); }, 15s));
    CO_ASSERT_TRUE(answer.has_value());
    CO_ASSERT_TRUE(*answer) << answer->error().message;
    EXPECT_EQ((*answer)->text, "echo:early");
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, ShedsWithOverloadedWhenQueueIsFull) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    QueueConfig q = queue_config();
    q.max_depth = 5;
    JobClient client(io.get_executor(), redis, q, "gw-1");
    client.start();

    std::atomic<int> cancelled{0};
    for (int i = 0; i < 5; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            auto r = co_await client.submit(job_asking("fill" + std::to_string(i), 30s));
            if (!r && r.error().code == Errc::cancelled) ++cancelled;
          },
          asio::detached);
    }
    bool full = false;
    for (int i = 0; i < 200 && !full; ++i) {
      auto d = co_await client.depth();
      full = d && *d == 5;
      if (!full) co_await sleep_for(10ms);
    }
    CO_ASSERT_TRUE(full);
    co_await sleep_for(200ms);  // let the depth sampler see the full queue too

    auto shed = co_await client.submit(job_asking("one too many"));
    CO_ASSERT_FALSE(shed);
    EXPECT_EQ(shed.error().code, Errc::overloaded);
    auto depth = co_await client.depth();
    CO_ASSERT_TRUE(depth);
    EXPECT_EQ(*depth, 5) << "a shed job is never enqueued";

    client.stop();
    EXPECT_TRUE(co_await eventually([&] { return cancelled == 5; }, 5s))
        << "stop() fails pending submits with cancelled";
  });
}

TEST(JobQueue, LiveWorkersCountsARunningWorkerUntilItStops) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    auto none = co_await client.live_workers();
    CO_ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0);

    RunningWorker worker(io, server, echo_handler(), "worker-live");
    bool seen = false;
    for (int i = 0; i < 200 && !seen; ++i) {
      auto n = co_await client.live_workers();
      seen = n && *n == 1;
      if (!seen) co_await sleep_for(20ms);
    }
    EXPECT_TRUE(seen);

    EXPECT_TRUE(co_await worker.stop_and_wait());
    auto after = co_await client.live_workers();
    CO_ASSERT_TRUE(after);
    EXPECT_EQ(*after, 0);
  });
}

TEST(JobQueue, CancelledSubmitReturnsCancelledAndLeavesClientUsable) {
  using namespace asio::experimental::awaitable_operators;
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();

    asio::steady_timer timer(io, 100ms);
    auto raced = co_await (client.submit(job_asking("abandoned", 30s)) ||
                           timer.async_wait(kNoThrow));
    EXPECT_EQ(raced.index(), 1u);
    EXPECT_TRUE(co_await eventually([&] { return client.in_flight() == 0; }, 5s));

    // No worker had read the abandoned job: it is deleted and never runs.
    EXPECT_TRUE(co_await eventually([&] { return client.forgotten() == 1; }, 5s));
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs"}), "0");
    auto calls = std::make_shared<std::atomic<int>>(0);
    RunningWorker worker(io, server, echo_handler(calls));
    auto r = co_await client.submit(job_asking("kept"));
    CO_ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->text, "echo:kept");
    EXPECT_EQ(calls->load(), 1);
    auto ping = co_await redis.command(redis::make_command("PING"));
    EXPECT_TRUE(ping);
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

// The XADD's reply and the job's reply come on different connections, so the job's reply
// may be read first. Here it is forced: the only pooled connection is held by a BLPOP, so
// the XADD waits behind it, and the reply is in the reply stream before the reader starts.
// The queue_enqueue stage (JobReply::enqueue_ms) is known all the same.
TEST(JobQueue, EnqueueDelayIsKnownWhenTheReplyIsReadBeforeTheXaddReturns) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    RedisConfig one = redis_config(server);
    one.pool_size = 1;
    redis::Client redis(io.get_executor(), one);
    JobClient client(io.get_executor(), redis, queue_config(), "gw-order");
    std::optional<Result<redis::Reply>> held;
    asio::co_spawn(io, redis.command(redis::make_command("BLPOP", "test:gate", "4")),
                   [&](std::exception_ptr, Result<redis::Reply> r) { held.emplace(std::move(r)); });
    CO_ASSERT_TRUE(co_await eventually(
        [&] { return server.cli({"INFO", "clients"}).find("blocked_clients:1") != std::string::npos; }, 5s));

    Job job = job_asking("early");
    job.id = "job-early-reply";
    JobReply reply;
    reply.job_id = job.id;
    reply.ok = true;
    reply.text = "answered";
    server.cli({"XADD", reply_stream(queue_config(), "gw-order"), "*", "reply", encode_reply(reply)});
    std::optional<Result<JobReply>> result;
    asio::co_spawn(io, client.submit(job), [&](std::exception_ptr, Result<JobReply> r) { result.emplace(std::move(r)); });
    CO_ASSERT_TRUE(co_await eventually([&] { return client.in_flight() == 1; }, 5s));
    client.start();
    // The reply has been read (the submit no longer awaits it) while the XADD is still held.
    CO_ASSERT_TRUE(co_await eventually([&] { return client.in_flight() == 0; }, 5s));
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs"}), "0");
    server.cli({"LPUSH", "test:gate", "go"});
    CO_ASSERT_TRUE(co_await eventually([&] { return result.has_value() && held.has_value(); }, 5s));
    CO_ASSERT_TRUE(*result) << result->error().message;
    EXPECT_EQ((*result)->text, "answered");
    EXPECT_GE((*result)->enqueue_ms, 0);
    client.stop();
  });
}

TEST(JobQueue, MalformedJobIsAcknowledgedAndAnsweredWhenPossible) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    EXPECT_NE(server.cli({"XADD", "ragd:jobs", "*", "job", "{not json"}), "");
    EXPECT_NE(server.cli({"XADD", "ragd:jobs", "*", "other", "x"}), "");
    EXPECT_NE(server.cli({"XADD", "ragd:jobs", "*", "job",
                          R"({"id":"bad-1","reply_to":"ragd:replies:manual","deadline_unix_ms":"x"})"}),
              "");
    RunningWorker worker(io, server, echo_handler());
    EXPECT_TRUE(co_await eventually([&] { return worker.runner.processed() >= 3; }, 10s));
    EXPECT_TRUE(co_await eventually([&] { return server.cli({"XLEN", "ragd:jobs"}) == "0"; }, 5s));
    EXPECT_EQ(server.cli({"XLEN", "ragd:replies:manual"}), "1");
    auto pttl = std::stoll(server.cli({"PTTL", "ragd:replies:manual"}));
    EXPECT_GT(pttl, 0) << "reply streams expire";
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, WorkerRecoversItsOwnPendingJobsAfterRestart) {
  RedisServer server;
  // A job delivered to "worker-r" that was never acknowledged (the worker died).
  server.cli({"XGROUP", "CREATE", "ragd:jobs", "ragd-workers", "0", "MKSTREAM"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    std::optional<Result<JobReply>> answer;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { answer = co_await client.submit(job_asking("orphan", 20s)); },
        asio::detached);
    bool claimed = false;
    for (int i = 0; i < 200 && !claimed; ++i) {
      co_await sleep_for(10ms);
      claimed = server.cli({"XREADGROUP", "GROUP", "ragd-workers", "worker-r", "COUNT", "1",
                            "STREAMS", "ragd:jobs", ">"}) != "";
    }
    CO_ASSERT_TRUE(claimed);

    RunningWorker worker(io, server, echo_handler(), "worker-r");
    EXPECT_TRUE(co_await eventually([&] { return answer.has_value(); }, 15s));
    CO_ASSERT_TRUE(answer.has_value());
    CO_ASSERT_TRUE(*answer) << answer->error().message;
    EXPECT_EQ((*answer)->text, "echo:orphan");
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, LiveWorkerReclaimsJobsOfADeadConsumer) {
  RedisServer server;
  server.cli({"XGROUP", "CREATE", "ragd:jobs", "ragd-workers", "0", "MKSTREAM"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    std::optional<Result<JobReply>> answer;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { answer = co_await client.submit(job_asking("lost", 20s)); },
        asio::detached);
    bool claimed = false;
    for (int i = 0; i < 200 && !claimed; ++i) {
      co_await sleep_for(10ms);
      claimed = server.cli({"XREADGROUP", "GROUP", "ragd-workers", "worker-dead", "COUNT", "1",
                            "STREAMS", "ragd:jobs", ">"}) != "";
    }
    CO_ASSERT_TRUE(claimed);

    WorkerRunner runner(io.get_executor(), redis_config(server), queue_config(), "worker-alive", 4,
                        echo_handler());
    runner.set_reclaim_idle(200ms);
    auto done = std::make_shared<std::atomic<bool>>(false);
    asio::co_spawn(io, runner.run(), [done](std::exception_ptr) { *done = true; });
    EXPECT_TRUE(co_await eventually([&] { return answer.has_value(); }, 15s));
    CO_ASSERT_TRUE(answer.has_value());
    CO_ASSERT_TRUE(*answer) << answer->error().message;
    EXPECT_EQ((*answer)->text, "echo:lost");
    EXPECT_EQ((*answer)->worker, "worker-alive");
    EXPECT_TRUE((*answer)->ok);
    runner.stop();
    EXPECT_TRUE(co_await eventually([&] { return done->load(); }, 10s));
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs"}), "0");
  });
}

TEST(JobQueue, LiveWorkersTakeOverADeadConsumersJobsOnceItsHeartbeatLapses) {
  // reclaim_idle_ms keeps its default (60 s): only the heartbeat (stale after 2 s) can get
  // these jobs moving within the test's bound.
  RedisServer server;
  server.cli({"XGROUP", "CREATE", "ragd:jobs", "ragd-workers", "0", "MKSTREAM"});
  server.cli({"ZADD", "ragd:workers", std::to_string(unix_ms()), "worker-dead"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    constexpr int kJobs = 6;
    std::vector<std::optional<Result<JobReply>>> answers(kJobs);
    for (int i = 0; i < kJobs; ++i) {
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        answers[i] = co_await client.submit(job_asking("held-" + std::to_string(i), 30s));
      }, asio::detached);
    }
    CO_ASSERT_TRUE(co_await eventually([&] { return server.cli({"XLEN", "ragd:jobs"}) == std::to_string(kJobs); }, 5s));
    // The dead consumer read them all and never answered.
    server.cli({"XREADGROUP", "GROUP", "ragd-workers", "worker-dead", "COUNT", std::to_string(kJobs), "STREAMS",
                "ragd:jobs", ">"});
    CO_ASSERT_EQ(server.cli({"XPENDING", "ragd:jobs", "ragd-workers"}).substr(0, 1), std::to_string(kJobs));

    // Two live workers with two slots each: they take the jobs over in turns, each job once.
    auto calls = std::make_shared<std::atomic<int>>(0);
    RunningWorker a(io, server, echo_handler(calls), "worker-a", 2);
    RunningWorker b(io, server, echo_handler(calls), "worker-b", 2);
    const auto answered = [&] {
      return std::all_of(answers.begin(), answers.end(), [](const auto& a) { return a.has_value(); });
    };
    EXPECT_TRUE(co_await eventually(answered, 15s));
    for (int i = 0; i < kJobs; ++i) {
      CO_ASSERT_TRUE(answers[i].has_value()) << i;
      CO_ASSERT_TRUE(*answers[i]) << answers[i]->error().message;
      EXPECT_EQ((*answers[i])->text, "echo:held-" + std::to_string(i));
      EXPECT_NE((*answers[i])->worker, "worker-dead");
    }
    EXPECT_EQ(calls->load(), kJobs) << "each job is taken over by one worker only";
    EXPECT_TRUE(co_await eventually([&] {
      return server.cli({"XINFO", "CONSUMERS", "ragd:jobs", "ragd-workers"}).find("worker-dead") == std::string::npos;
    }, 5s)) << "the dead consumer is removed from the group";
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs"}), "0");
    EXPECT_TRUE(co_await a.stop_and_wait());
    EXPECT_TRUE(co_await b.stop_and_wait());
  });
}

TEST(JobQueue, JobDeliveredPastMaxAttemptsIsDeadLetteredAndItsClientAnswered) {
  RedisServer server;
  server.cli({"XGROUP", "CREATE", "ragd:jobs", "ragd-workers", "0", "MKSTREAM"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    std::optional<Result<JobReply>> answer;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { answer = co_await client.submit(job_asking("poison", 20s)); },
        asio::detached);
    // A consumer that "crashes" on it twice: delivered, then re-delivered from its pending list.
    bool read = false;
    for (int i = 0; i < 200 && !read; ++i) {
      co_await sleep_for(10ms);
      read = server.cli({"XREADGROUP", "GROUP", "ragd-workers", "worker-dead", "COUNT", "1", "STREAMS",
                         "ragd:jobs", ">"}) != "";
    }
    CO_ASSERT_TRUE(read);
    server.cli({"XREADGROUP", "GROUP", "ragd-workers", "worker-dead", "STREAMS", "ragd:jobs", "0"});

    auto calls = std::make_shared<std::atomic<int>>(0);
    auto config = queue_config();
    config.max_attempts = 2;
    WorkerRunner runner(io.get_executor(), redis_config(server), config, "worker-alive", 4, echo_handler(calls));
    runner.set_reclaim_idle(200ms);
    auto done = std::make_shared<std::atomic<bool>>(false);
    asio::co_spawn(io, runner.run(), [done](std::exception_ptr) { *done = true; });
    EXPECT_TRUE(co_await eventually([&] { return answer.has_value(); }, 15s));
    CO_ASSERT_TRUE(answer.has_value());
    CO_ASSERT_TRUE(*answer) << answer->error().message;
    EXPECT_FALSE((*answer)->ok);
    EXPECT_EQ((*answer)->error_code, "dead_lettered");
    EXPECT_EQ(calls->load(), 0) << "a job past its attempts never runs again";
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs:dead"}), "1");
    EXPECT_EQ(server.cli({"XLEN", "ragd:jobs"}), "0");
    runner.stop();
    EXPECT_TRUE(co_await eventually([&] { return done->load(); }, 10s));
  });
}

TEST(JobQueue, AJobAlreadyAnsweredIsNotAnsweredAgain) {
  RedisServer server;
  server.cli({"SET", "ragd:reply-done:job-twice", "1"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    auto calls = std::make_shared<std::atomic<int>>(0);
    RunningWorker worker(io, server, echo_handler(calls));
    Job job = job_asking("again", 1500ms);
    job.id = "job-twice";
    auto r = co_await client.submit(std::move(job));
    // It ran, but a reply for this id had been written before: no second answer.
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::deadline_exceeded);
    }
    EXPECT_EQ(calls->load(), 1);
    EXPECT_TRUE(co_await eventually([&] { return server.cli({"XLEN", "ragd:jobs"}) == "0"; }, 5s))
        << "the job is acknowledged all the same";
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, InteractiveJobsRunBeforeRefreshAndBatchJobs) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    auto order = std::make_shared<std::vector<std::string>>();
    JobHandler recorder = [order](Job job) -> asio::awaitable<JobReply> {
      order->push_back(job.question);
      JobReply r;
      r.ok = true;
      co_return r;
    };
    int answered = 0;
    auto submit = [&](std::string q, Priority p) {
      Job job = job_asking(std::move(q), 20s);
      job.priority = p;
      asio::co_spawn(io, client.submit(std::move(job)), [&answered](std::exception_ptr, Result<JobReply>) { ++answered; });
    };
    for (int i = 0; i < 3; ++i) submit("batch", Priority::batch);
    for (int i = 0; i < 3; ++i) submit("refresh", Priority::refresh);
    submit("interactive", Priority::interactive);
    CO_ASSERT_TRUE(co_await eventually([&] {
      return server.cli({"XLEN", "ragd:jobs:batch"}) == "3" && server.cli({"XLEN", "ragd:jobs:refresh"}) == "3" &&
             server.cli({"XLEN", "ragd:jobs"}) == "1";
    }, 5s));
    RunningWorker worker(io, server, recorder, "worker-a", 1);
    EXPECT_TRUE(co_await eventually([&] { return answered == 7; }, 10s));
    std::vector<std::string> expected = {"interactive", "refresh", "refresh", "refresh", "batch", "batch", "batch"};
    EXPECT_EQ(*order, expected);
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, EachPriorityIsShedAtItsOwnBound) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    auto config = queue_config();
    config.max_depth_batch = 1;
    JobClient client(io.get_executor(), redis, config, "gw-1");
    client.start();
    Job first = job_asking("b1", 5s);
    first.priority = Priority::batch;
    asio::co_spawn(io, client.submit(std::move(first)), asio::detached);
    CO_ASSERT_TRUE(co_await eventually([&] { return server.cli({"XLEN", "ragd:jobs:batch"}) == "1"; }, 5s));
    co_await sleep_for(200ms);  // the depth is sampled every 50 ms
    Job second = job_asking("b2", 5s);
    second.priority = Priority::batch;
    auto shed = co_await client.submit(std::move(second));
    CO_ASSERT_FALSE(shed);
    EXPECT_EQ(shed.error().code, Errc::overloaded);
    // Interactive jobs still get in.
    RunningWorker worker(io, server, echo_handler());
    auto ok = co_await client.submit(job_asking("i1"));
    CO_ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->text, "echo:i1");
    client.stop();
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

TEST(JobQueue, WorkerSurvivesARedisRestartThatLostTheGroup) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), redis_config(server));
    JobClient client(io.get_executor(), redis, queue_config(), "gw-1");
    client.start();
    RunningWorker worker(io, server, echo_handler());
    auto r1 = co_await client.submit(job_asking("before"));
    CO_ASSERT_TRUE(r1) << r1.error().message;
    // Everything is gone, groups included (a restart without persistence).
    server.cli({"FLUSHALL"});
    auto r2 = co_await client.submit(job_asking("after", 15s));
    CO_ASSERT_TRUE(r2) << r2.error().message;
    EXPECT_EQ(r2->text, "echo:after");
    EXPECT_TRUE(co_await worker.stop_and_wait());
  });
}

}  // namespace
}  // namespace ragd::queue
