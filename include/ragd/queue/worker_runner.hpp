// The worker's side of the LLM job queue (Redis Streams with a consumer group,
// at-least-once; the gateway's side is job_client.hpp).
//
// WorkerRunner: reads jobs with XREADGROUP, highest priority first, runs up to
// `concurrency` of them at once through a JobHandler, writes each reply (once per job id) to
// the job's reply stream, then acknowledges (XACK) and deletes the entry; jobs past their
// deadline are answered with deadline_exceeded without calling the handler; jobs delivered
// more than max_attempts times go to the dead-letter stream and are answered with
// dead_lettered. It heartbeats so gateways and other workers can see it is alive, renews the
// claim on its running jobs, and takes over the jobs of workers whose heartbeat stopped
// (see heartbeat_watch.hpp) or that held a job idle past reclaim_idle. Redis errors
// (connection lost, NOGROUP after a restart that lost data) are retried; the runner never
// gives up.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/queue/queue_config.hpp"
#include "ragd/redis/redis_config.hpp"
#include "ragd/queue/job.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ragd::metrics {
class Registry;
}

namespace ragd::queue {

using JobHandler = std::function<boost::asio::awaitable<JobReply>(Job)>;
// For streamed jobs: `publish` hands a piece of the answer on to the asker at once (callable
// from any thread; pieces go out in call order). The reply's text is the whole answer. The
// handler runs with an Asio cancellation slot that fires when the asker goes away.
using DeltaPublisher = std::function<void(std::string_view text)>;
using StreamJobHandler = std::function<boost::asio::awaitable<JobReply>(Job, DeltaPublisher)>;

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

  // Jobs pending on another consumer for longer than `idle` are taken over, whether or not
  // that consumer's heartbeat is alive (the jobs of a consumer whose heartbeat stopped are
  // taken over after queue.worker_stale_ms, whatever `idle` is). Live workers renew the claim
  // on their running jobs every third of `idle`, so a slow job is not taken over; should one
  // run twice anyway, its reply is written once. Default: queue.reclaim_idle_ms; zero turns
  // idle reclaiming (and renewal) off. Call before run().
  void set_reclaim_idle(std::chrono::milliseconds idle);
  // Counts this runner's jobs in `metrics` (which must outlive it): ragd_worker_jobs_total
  // {outcome}, ragd_worker_dead_lettered_total{reason}, ragd_worker_model_duration_ms,
  // ragd_worker_tokens_total{kind,model}, ragd_worker_jobs_in_flight and
  // ragd_worker_queue_pickup_ms (see docs/operations.md). Call before run().
  void set_metrics(metrics::Registry& metrics);
  // How the handler's jobs are decoded (default: in full). Call before run().
  void set_job_decoding(JobDecoding decoding);
  // How streamed jobs (Job::stream) are answered; without one they go to the plain handler,
  // and the asker gets the whole answer at once. Call before run().
  void set_stream_handler(StreamJobHandler handler);

  std::int64_t processed() const;
  std::int64_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ragd::queue
