#include "ragd/http/failed_auth_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace ragd::http {

FailedAuthLimiter::FailedAuthLimiter(RateLimitConfig limit, std::size_t max_addresses)
    : rate_(limit.requests_per_second),
      burst_(limit.burst > 0 ? limit.burst : std::max(1.0, std::ceil(limit.requests_per_second))),
      max_addresses_(max_addresses) {}

bool FailedAuthLimiter::refill(std::unordered_map<std::string, Bucket>::iterator it, std::int64_t now_ms) {
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + static_cast<double>(std::max<std::int64_t>(0, now_ms - b.at_ms)) * rate_ / 1000);
  b.at_ms = now_ms;
  if (b.tokens < burst_) return true;
  buckets_.erase(it);
  tracked_.store(buckets_.size(), std::memory_order_relaxed);
  return false;
}

std::int64_t FailedAuthLimiter::wait_ms(const std::string& address, std::int64_t now_ms) {
  if (!enabled() || tracked_.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(address);
  if (it == buckets_.end() || !refill(it, now_ms)) return 0;
  const double tokens = it->second.tokens;
  return tokens >= 1 ? 0 : static_cast<std::int64_t>(std::ceil((1 - tokens) * 1000 / rate_));
}

void FailedAuthLimiter::record_failure(const std::string& address, std::int64_t now_ms) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_addresses_) return;
    it = buckets_.emplace(address, Bucket{burst_, now_ms}).first;
  } else {
    refill(it, now_ms);
    it = buckets_.find(address);
    if (it == buckets_.end()) it = buckets_.emplace(address, Bucket{burst_, now_ms}).first;
  }
  it->second.tokens -= 1;
  tracked_.store(buckets_.size(), std::memory_order_relaxed);
}

}  // namespace ragd::http
