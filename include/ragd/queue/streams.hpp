// The Redis layout of the job queue and the pure functions that read its replies: one jobs
// stream per priority, the dead-letter stream, the reply-once guard keys. Shared by the
// gateway (JobClient), the workers (WorkerRunner) and ragctl. No I/O; thread-safe.
//
// Layout, for jobs_stream = "ragd:jobs":
//   ragd:jobs            interactive queries (read first)
//   ragd:jobs:refresh    background cache refreshes
//   ragd:jobs:batch      batch work (read last)
//   ragd:jobs:dead       jobs that exhausted queue.max_attempts, or whose model call failed
//                        for good; fields: job, reason, stream, entry_id, deliveries,
//                        consumer, failed_unix_ms
//   ragd:jobs:cancel     cancel notices for streamed jobs whose client went away; field: job
//                        (see job_stream.hpp)
//   ragd:reply-done:<id> set once the reply of job <id> is written (SET NX), so a job run
//                        twice answers once
//   ragd:replies:<gw>    the replies to gateway <gw> (one reader: that gateway)
//   ragd:workers         worker heartbeats (sorted set: consumer -> unix ms)
// where "ragd:" is queue.key_prefix (copied from redis.key_prefix).
#pragma once

#include "ragd/queue/queue_config.hpp"
#include "ragd/queue/job.hpp"
#include "ragd/redis/client.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ragd::queue {

inline constexpr int kPriorityCount = 3;

// The stream of each priority, highest first (index = static_cast<int>(Priority)).
std::array<std::string, kPriorityCount> priority_streams(const QueueConfig& config);
std::string stream_for(const QueueConfig& config, Priority priority);
std::string dead_letter_stream(const QueueConfig& config);
std::string cancel_stream(const QueueConfig& config);
std::string workers_key(const QueueConfig& config);
std::string reply_stream(const QueueConfig& config, const std::string& gateway_id);
std::string reply_done_key(const QueueConfig& config, const std::string& job_id);
// Jobs of `priority` that may wait before the gateway sheds with 503.
std::int64_t depth_bound(const QueueConfig& config, Priority priority);

struct StreamRecord {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  bool deleted = false;  // a pending entry whose body was deleted (XDEL)

  const std::string* field(const std::string& name) const;
};

struct StreamBatch {
  std::string stream;
  std::vector<StreamRecord> records;
};

// Every stream of an XREAD / XREADGROUP reply, in reply order (nil reply = none).
std::vector<StreamBatch> parse_streams_read(const redis::Reply& reply);
// The same, moving the reply's strings out instead of copying them.
std::vector<StreamBatch> parse_streams_read(redis::Reply&& reply);
// The delivery count of the first entry of an extended XPENDING reply
// ([[id, consumer, idle-ms, deliveries], ...]); nullopt when there is none.
std::optional<std::int64_t> parse_pending_deliveries(const redis::Reply& reply);

// A consumer of the group on one stream and the jobs it holds (pending, not acknowledged).
struct GroupConsumer {
  std::string name;
  std::int64_t pending = 0;
};

// The consumers of an XINFO CONSUMERS reply (entries without a name are skipped).
std::vector<GroupConsumer> parse_group_consumers(const redis::Reply& reply);
// The heartbeat set as ZRANGE <workers> 0 -1 WITHSCORES returns it: consumer -> unix ms.
std::map<std::string, std::int64_t> parse_heartbeats(const redis::Reply& reply);

// Whether a job delivered `deliveries` times must go to the dead-letter stream instead of
// running again: it ran (and crashed or stalled a worker) max_attempts times already.
inline bool exhausted(std::int64_t deliveries, int max_attempts) { return deliveries > max_attempts; }

}  // namespace ragd::queue
