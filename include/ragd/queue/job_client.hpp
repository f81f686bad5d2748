// The gateway's side of the LLM job queue (Redis Streams, at-least-once; the worker's side is
// worker_runner.hpp).
//
// JobClient: submit() appends a Job to the stream of its priority (streams.hpp) and awaits
// its reply, which a worker writes to this gateway's own reply stream; one reader coroutine
// per gateway (on a dedicated connection) hands replies to the waiting coroutines by job id.
// A waiter is entered before the job is written, so no reply is ever missed. Each priority
// has its own depth bound; a submit beyond it is shed at once.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/queue/queue_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/queue/job.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

  // Enqueues `job` on the stream of its priority (its id and reply_to are filled in when
  // empty) and awaits the reply until job.deadline_unix_ms. Errors: Errc::overloaded when
  // that priority's queue is at its bound (nothing is enqueued), Errc::unavailable when Redis
  // cannot be reached (at once, without waiting for the deadline), Errc::deadline_exceeded,
  // Errc::cancelled when the awaiting coroutine is cancelled; a cancelled job no worker has
  // read yet is deleted from the stream (best effort), so it never runs.
  boost::asio::awaitable<Result<JobReply>> submit(Job job);

  // Receives a streamed answer's pieces, in order, on this client's strand (keep it short).
  using DeltaHandler = std::function<void(std::string_view text)>;
  // submit() for a streamed job (job.stream is set): on_delta gets the answer's pieces as the
  // worker produces them, then the reply comes as from submit(), its text the whole answer
  // (the pieces handed on are a prefix of it). The pieces come from one run of the job; should
  // another run start after some were handed on (their worker died), the result is
  // Errc::upstream_error and nothing more is handed on. A cancelled wait also tells the
  // workers, so a model call in progress is aborted (job_stream.hpp).
  boost::asio::awaitable<Result<JobReply>> submit_stream(Job job, DeltaHandler on_delta);

  // Workers whose heartbeat is newer than worker_stale_ms.
  boost::asio::awaitable<Result<std::int64_t>> live_workers();
  // Jobs in the streams not yet acknowledged (waiting + being processed), all priorities.
  boost::asio::awaitable<Result<std::int64_t>> depth();

  std::int64_t in_flight() const;        // submits awaiting a reply in this process
  // True when submit() would shed a job of this priority now (the sampled depth is at its
  // bound, or queue.max_wait_ms is set and this gateway is at its adaptive limit): lets callers
  // answer 503 before doing work the queue cannot take.
  bool saturated(Priority priority) const;
  // Jobs deleted from the queue because their waiter gave up (cancelled, deadline) before a
  // worker acknowledged them.
  std::int64_t forgotten() const;

 private:
  boost::asio::awaitable<Result<JobReply>> submit_impl(Job job, DeltaHandler on_delta);

  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ragd::queue
