// How a worker settles a job in Redis: its reply, written once per job id together with the
// job's acknowledgement; its dead-letter entry; a plain acknowledgement (XACK, then XDEL so
// that XLEN stays the queue depth). A lost connection is retried with a doubling pause until
// the job's deadline (at least 15 s, so a short Redis restart is ridden out); an error reply
// from Redis is final. Holds no state of its own: any number of jobs may settle at once.
#pragma once

#include "ragd/queue/job.hpp"
#include "ragd/queue/queue_config.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>

namespace ragd::queue::detail {

class JobAnswers {
 public:
  // `redis`, `config` and `consumer` outlive this object.
  JobAnswers(redis::Client& redis, const QueueConfig& config, const std::string& consumer);

  // Writes `reply` to `reply_stream` unless one was written already for its job id (a job
  // run twice, by a slow worker and the one that took it over, answers once), and
  // acknowledges the job's entry in the same script: a client that has its answer never
  // finds its job still queued. True when a reply exists (and so the entry is acknowledged).
  boost::asio::awaitable<bool> reply(std::string reply_stream, const JobReply& reply, std::int64_t deadline_unix_ms,
                                     std::string job_stream, std::string entry_id);
  // Answers a job that cannot be decoded with `error` (bad_request) when its caller can be
  // identified in `payload`, so that it does not wait for its deadline. True when a reply
  // exists (and so the entry is acknowledged).
  boost::asio::awaitable<bool> refuse(const std::string& payload, const Error& error, std::string job_stream,
                                      std::string entry_id);
  // Keeps the job's payload in the dead-letter stream, for inspection and replay.
  boost::asio::awaitable<bool> dead_letter(std::string job_stream, std::string entry_id, std::string payload,
                                           std::string reason, std::int64_t deliveries);
  boost::asio::awaitable<void> acknowledge(std::string job_stream, std::string entry_id);

 private:
  redis::Client& redis_;
  const QueueConfig& config_;
  const std::string& consumer_;
  std::string dead_stream_;
};

}  // namespace ragd::queue::detail
