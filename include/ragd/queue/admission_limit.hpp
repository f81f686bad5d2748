// AdmissionLimit: how many interactive jobs one gateway keeps queued or running at once,
// adapted so that jobs wait about a target time for a worker (AIMD on a concurrency limit,
// as in Netflix's concurrency-limits, driven by the queueing delay the workers measure).
//
// A fixed depth bound is either too small for a large worker pool or, for a small one, lets
// a backlog build that every admitted query then waits out. Here each reply carries how long
// its job waited for a worker (queue_wait_ms):
//   - waited longer than the target: the limit shrinks by a tenth, at most once per model
//     call (a wave of replies from one backlog counts once);
//   - waited less, with the limit in use (in flight >= half of it): the limit grows by
//     1/limit, i.e. by one per round of replies (TCP's congestion avoidance).
// Past the limit, submit() sheds at once with 503. Jobs that end without a reply (deadline,
// cancellation, Redis errors) release their slot without moving the limit.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace ragd::queue {

class AdmissionLimit {
 public:
  using Clock = std::chrono::steady_clock;

  // target <= 0 turns the limit off: try_acquire() always succeeds.
  AdmissionLimit(std::chrono::milliseconds target, std::int64_t min_limit, std::int64_t max_limit,
                 std::int64_t initial);

  bool enabled() const { return target_ms_ > 0; }
  bool try_acquire();
  bool would_admit() const;  // try_acquire() would succeed now (no slot taken)
  // A job ended: with a reply (its queue wait and model time) or without one.
  void release(double queue_wait_ms, double llm_ms, Clock::time_point now);
  void release_without_reply();

  std::int64_t limit() const;
  std::int64_t in_flight() const;

 private:
  double target_ms_;
  std::int64_t min_limit_;
  std::int64_t max_limit_;
  mutable std::mutex mutex_;
  double limit_;
  std::int64_t in_flight_ = 0;
  double llm_ms_avg_ = 0;
  Clock::time_point next_decrease_{};
};

}  // namespace ragd::queue
