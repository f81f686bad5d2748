// Failed authentications per client address: a token bucket per address that only failed
// authentications draw from (auth.failed_auth_limit). Once an address's bucket is empty,
// its requests are refused with 429 before any key is looked at, so guessing keys costs
// the guesser time. In process (each gateway counts its own), bounded: at most
// `max_addresses` addresses are tracked; past that, new ones are not.
//
// Thread-safety: all member functions may be called from any thread. While no address has
// failed recently, wait_ms() costs one atomic load.
#pragma once

#include "ragd/http/http_config.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ragd::http {

class FailedAuthLimiter {
 public:
  explicit FailedAuthLimiter(RateLimitConfig limit, std::size_t max_addresses = 65536);

  bool enabled() const { return rate_ > 0; }
  // Milliseconds until `address` may try again; 0 = now.
  std::int64_t wait_ms(const std::string& address, std::int64_t now_ms);
  // Counts one failed authentication from `address`.
  void record_failure(const std::string& address, std::int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t at_ms = 0;
  };
  // The bucket refilled to `now_ms`; erases it (returns false) once full again.
  bool refill(std::unordered_map<std::string, Bucket>::iterator it, std::int64_t now_ms);

  double rate_;   // tokens per second
  double burst_;
  std::size_t max_addresses_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::atomic<std::size_t> tracked_{0};
};

}  // namespace ragd::http
