// How a worker takes over the jobs of another consumer, and how it keeps its own: the two
// Lua scripts and their replies. Each script touches one stream, so it runs where that
// stream lives (Redis Cluster included). Pure apart from what Redis does with the commands.
//
// Take-over: the jobs of a dead consumer (`owner`), or of any consumer when they sat idle
// for `min_idle` (a hung one), move to this worker in one atomic step (XPENDING then XCLAIM
// in one script), so two workers taking over at once never both get a job. XCLAIM counts a
// delivery. A job on its kIsolateFromDelivery-th delivery (it was on two workers that died)
// is a suspect of crashing them: it is only taken by a worker with nothing else running
// (`alone`), one at a time, so it cannot take other jobs down with it again. A dead owner
// left with no jobs on the stream is removed from the group (XGROUP DELCONSUMER).
//
// Renewal: a worker re-claims (XCLAIM ... JUSTID: no delivery counted) the jobs it runs so
// their idle time stays low, but only those it still holds: a job another worker took over
// while this one stalled is not taken back.
#pragma once

#include "ragd/queue/queue_config.hpp"
#include "ragd/redis/redis_config.hpp"
#include "ragd/redis/client.hpp"
#include "queue/stream_impl.hpp"

#include <chrono>
#include <map>
#include <span>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ragd::queue::detail {

inline constexpr std::int64_t kIsolateFromDelivery = 3;

// The take-over of up to `budget` jobs held on `stream` by `owner` ("" = by any consumer
// but `me`, idle for at least `min_idle`).
redis::Command take_over_command(const std::string& stream, const QueueConfig& config, const std::string& me,
                                 const std::string& owner, std::chrono::milliseconds min_idle,
                                 std::int64_t budget, bool alone);

struct Claimed {
  std::vector<StreamEntry> entries;      // taken over (deleted entries are acknowledged, not listed)
  std::vector<std::int64_t> deliveries;  // of each entry, this one included
  std::int64_t left = 0;                 // jobs of that owner still on the stream
  std::int64_t suspects = 0;             // of those, the ones waiting for a worker alone
};

// The reply of take_over_command; nullopt when it does not have the script's shape.
std::optional<Claimed> parse_take_over(redis::Reply&& reply);

// Renews this consumer's claim on those of `entry_ids` (on `stream`) it still holds.
redis::Command renew_command(const std::string& stream, const QueueConfig& config, const std::string& me,
                             const std::vector<std::string>& entry_ids);

// This worker's heartbeat at `now_ms` (the score of its name in <prefix>workers), with the
// entries of workers that died without deregistering pruned after a while.
std::vector<redis::Command> heartbeat_commands(const QueueConfig& config, const std::string& me, std::int64_t now_ms);

// One look at the group for take-over (heartbeat_watch.hpp): each stream's consumers, the
// heartbeats, and, when `reclaim_idle` is set, whether each stream holds a job idle past it.
// The consumers are read before the heartbeats: a worker writes its first heartbeat before it
// joins the group, so every consumer seen here has one to be seen.
std::vector<redis::Command> survey_commands(std::span<const std::string> streams, const QueueConfig& config,
                                            std::chrono::milliseconds reclaim_idle);

struct Survey {
  std::vector<std::string> consumers;            // of every stream, `me` left out
  std::map<std::string, std::int64_t> heartbeats;
  bool idle_jobs = false;                        // a job sat idle past reclaim_idle
};

// The replies of survey_commands (in order); nullopt when a stream has no group (NOGROUP:
// the read loop re-creates the groups).
std::optional<Survey> parse_survey(const std::vector<redis::Reply>& replies, std::size_t stream_count,
                                   const std::string& me);

}  // namespace ragd::queue::detail
