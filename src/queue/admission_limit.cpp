#include "ragd/queue/admission_limit.hpp"

#include <algorithm>

namespace ragd::queue {

AdmissionLimit::AdmissionLimit(std::chrono::milliseconds target, std::int64_t min_limit,
                               std::int64_t max_limit, std::int64_t initial)
    : target_ms_(static_cast<double>(target.count())),
      min_limit_(std::max<std::int64_t>(1, min_limit)),
      max_limit_(std::max(max_limit, std::max<std::int64_t>(1, min_limit))),
      limit_(static_cast<double>(std::clamp(initial, min_limit_, max_limit_))) {}

bool AdmissionLimit::try_acquire() {
  if (!enabled()) return true;
  std::lock_guard lock(mutex_);
  if (static_cast<double>(in_flight_) >= limit_) return false;
  ++in_flight_;
  return true;
}

bool AdmissionLimit::would_admit() const {
  if (!enabled()) return true;
  std::lock_guard lock(mutex_);
  return static_cast<double>(in_flight_) < limit_;
}

void AdmissionLimit::release(double queue_wait_ms, double llm_ms, Clock::time_point now) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (in_flight_ > 0) --in_flight_;
  if (llm_ms > 0) llm_ms_avg_ = llm_ms_avg_ == 0 ? llm_ms : 0.9 * llm_ms_avg_ + 0.1 * llm_ms;
  if (queue_wait_ms > target_ms_) {
    if (now >= next_decrease_) {
      limit_ = std::max(static_cast<double>(min_limit_), limit_ * 0.9);
      // One decrease per wave: the replies of one backlog arrive within a model call.
      const double hold_ms = std::max(target_ms_, llm_ms_avg_);
      next_decrease_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(hold_ms));
    }
  } else if (static_cast<double>(in_flight_ + 1) * 2 >= limit_) {
    limit_ = std::min(static_cast<double>(max_limit_), limit_ + 1.0 / limit_);  // +1 per round
  }
}

void AdmissionLimit::release_without_reply() {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (in_flight_ > 0) --in_flight_;
}

std::int64_t AdmissionLimit::limit() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(limit_);
}

std::int64_t AdmissionLimit::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace ragd::queue
