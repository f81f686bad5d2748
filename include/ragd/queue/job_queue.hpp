// The LLM job queue on Redis Streams with a consumer group (at-least-once).
//
// Gateway side, JobClient: submit() appends a Job to the jobs stream and awaits its reply,
// which a worker writes to this gateway's own reply stream; one reader coroutine per
// gateway (on a dedicated connection) dispatches replies to the waiting coroutines by job
// id. A waiter is registered before the job is written, so no reply is ever missed.
//
// Worker side, WorkerRunner: reads jobs with XREADGROUP, runs up to `concurrency` of them
// at once through a JobHandler, writes each reply to the job's reply stream, then
// acknowledges (XACK) and deletes the entry; jobs past their deadline are answered with
// deadline_exceeded without calling the handler. It heartbeats so gateways can see live
// workers.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/core/config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/queue/job.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ragd::redis {
class Client;
}

namespace ragd::queue {

class JobClient {
 public:
  JobClient(boost::asio::any_io_executor ex, redis::Client& redis, QueueConfig config,
            std::string gateway_id);
  ~JobClient();

  void start();  // starts the reply reader
  void stop();   // stops it; pending submits fail with Errc::cancelled

  // Enqueues `job` (its id and reply_to are filled in when empty) and awaits the reply until
  // job.deadline_unix_ms. Errors: Errc::overloaded when the queue is deeper than max_depth
  // (nothing is enqueued), Errc::unavailable when Redis cannot be reached,
  // Errc::deadline_exceeded, Errc::cancelled when the awaiting coroutine is cancelled.
  boost::asio::awaitable<Result<JobReply>> submit(Job job);

  // Workers whose heartbeat is newer than worker_stale_ms.
  boost::asio::awaitable<Result<std::int64_t>> live_workers();
  // Jobs in the stream not yet acknowledged (waiting + being processed).
  boost::asio::awaitable<Result<std::int64_t>> depth();

  std::int64_t in_flight() const;        // submits awaiting a reply in this process
  const std::string& reply_stream() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

using JobHandler = std::function<boost::asio::awaitable<JobReply>(Job)>;

class WorkerRunner {
 public:
  WorkerRunner(boost::asio::any_io_executor ex, RedisConfig redis, QueueConfig config,
               std::string consumer_name, int concurrency, JobHandler handler);
  ~WorkerRunner();

  // Runs until stop(): reads, dispatches, replies, acknowledges, heartbeats.
  boost::asio::awaitable<void> run();
  // Stops reading new jobs; run() returns once the jobs in flight are answered (a blocking
  // read in progress ends within about a second first).
  void stop();

  // Jobs pending on another consumer for longer than `idle` are taken over (XAUTOCLAIM), so
  // the jobs of a dead worker are not lost. It must exceed the longest time a job can take,
  // or a slow job may run twice (harmless: a job's reply is used once). Default 60 s; zero
  // turns reclaiming off. Call before run().
  void set_reclaim_idle(std::chrono::milliseconds idle);

  std::int64_t processed() const;
  std::int64_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ragd::queue
