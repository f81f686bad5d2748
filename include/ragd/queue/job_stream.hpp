// Streamed jobs on the queue: the wire form of an answer's pieces and of cancel notices
// (pure functions; no I/O; thread-safe).
//
// A worker running a job with Job::stream set appends the answer's pieces to the job's reply
// stream, before the job's reply, as delta entries:
//
//   XADD <reply stream> * delta <job id> run <run id> seq <n> text <piece>
//
// `run` is random per execution of the job: a job that is retried (its worker died) starts a
// new run, so the gateway can tell a continuation from a restart. `seq` counts from 1 within
// a run. The first piece is written at once; later pieces are coalesced into entries at least
// queue.delta_coalesce_ms apart, and a run writes at most kMaxDeltaEntries of them: past that the pieces wait for the reply,
// whose text is always the whole answer (deltas only let the gateway start early). The
// reply carries the run id (JobReply::run_id) and follows the run's last delta entry.
//
// Cancel notices: a gateway whose client went away appends `job <id>` to the cancel stream
// (streams.hpp, cancel_stream()); every worker reads it and cancels that job's model call if
// it runs there. Best effort: a notice that arrives before the job started is not kept.
#pragma once

#include "ragd/queue/streams.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ragd::queue {

inline constexpr const char* kDeltaField = "delta";
inline constexpr int kMaxDeltaEntries = 2000;
// The cancel stream keeps about this many notices.
inline constexpr int kCancelStreamMax = 10000;

struct JobDelta {
  std::string job_id;
  std::string run_id;
  std::int64_t seq = 0;
  std::string text;
};

// The command appending one delta entry to `reply_stream`.
redis::Command delta_command(const std::string& reply_stream, const JobDelta& delta);
// A delta entry's contents; nullopt for entries of another kind or malformed ones.
std::optional<JobDelta> parse_delta(StreamRecord&& entry);
// The command appending a cancel notice for `job_id`.
redis::Command cancel_command(const QueueConfig& config, const std::string& job_id);

}  // namespace ragd::queue
