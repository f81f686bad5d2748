// HeartbeatWatch: tells the dead consumers of the job queue from the live ones by their
// heartbeats (the scores of <prefix>workers), so a live worker can take a dead one's jobs
// over within seconds instead of waiting for them to sit idle for queue.reclaim_idle_ms.
//
// A consumer is dead once its heartbeat has not changed for `stale` as measured by this
// process's steady clock, from the first look at it on. Only changes are compared, never
// one host's timestamp with another's clock, so hosts whose clocks disagree (or a process
// that stalled for a while) never mistake a live worker for a dead one. A consumer with no
// heartbeat at all (pruned, deregistered on shutdown) counts as a heartbeat that stopped.
// A worker writes its first heartbeat before it reads its first job, so a consumer that
// holds jobs always had one.
//
// Pure (no I/O). Not thread-safe: one owner calls it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ragd::queue {

class HeartbeatWatch {
 public:
  using Clock = std::chrono::steady_clock;

  explicit HeartbeatWatch(std::chrono::milliseconds stale) : stale_(stale) {}

  // One look: `consumers` are the names to judge (the group's consumers but the caller),
  // `heartbeats` the heartbeat set as read (name -> score). Returns the dead ones among
  // `consumers`, sorted and distinct. Names no longer among `consumers` are forgotten.
  std::vector<std::string> dead(const std::vector<std::string>& consumers,
                                const std::map<std::string, std::int64_t>& heartbeats, Clock::time_point now);

 private:
  struct Seen {
    std::optional<std::int64_t> beat;  // nullopt: no heartbeat
    Clock::time_point since;           // when this watch first saw `beat`
  };
  std::chrono::milliseconds stale_;
  std::map<std::string, Seen> seen_;
};

}  // namespace ragd::queue
