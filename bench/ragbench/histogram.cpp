#include "ragbench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ragd::bench {

namespace {

// 2^kLinearBits values are exact; above them each octave has 2^(kLinearBits-1) buckets.
constexpr unsigned kLinearBits = 8;
constexpr std::uint64_t kLinear = std::uint64_t{1} << kLinearBits;  // 256
constexpr std::uint64_t kHalf = kLinear / 2;                        // 128 buckets per octave

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(bucket_count(), 0) {}

std::size_t LatencyHistogram::bucket_count() noexcept { return bucket_of(kMaxValue) + 1; }

std::size_t LatencyHistogram::bucket_of(std::uint64_t v) noexcept {
  v = std::min(v, kMaxValue);
  if (v < kLinear) return static_cast<std::size_t>(v);
  const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - kLinearBits;  // >= 1
  const std::uint64_t top = v >> shift;                                          // [128, 255]
  return static_cast<std::size_t>(kLinear + (shift - 1) * kHalf + (top - kHalf));
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t i) noexcept {
  if (i < kLinear) return i;
  const std::uint64_t shift = (i - kLinear) / kHalf + 1;
  const std::uint64_t top = (i - kLinear) % kHalf + kHalf;
  return top << shift;
}

std::uint64_t LatencyHistogram::bucket_width(std::size_t i) noexcept {
  if (i < kLinear) return 1;
  return std::uint64_t{1} << ((i - kLinear) / kHalf + 1);
}

void LatencyHistogram::record(std::uint64_t micros) noexcept {
  micros = std::min(micros, kMaxValue);
  ++counts_[bucket_of(micros)];
  if (count_ == 0 || micros < min_) min_ = micros;
  max_ = std::max(max_, micros);
  ++count_;
  sum_ += static_cast<double>(micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = min_ = max_ = 0;
  sum_ = 0;
}

double LatencyHistogram::mean() const noexcept {
  return count_ ? sum_ / static_cast<double>(count_) : 0.0;
}

double LatencyHistogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  // The extremes are known exactly; only the inside of the distribution is bucketed.
  if (rank >= count_) return static_cast<double>(max_);
  if (rank == 1) return static_cast<double>(min_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The midpoint halves the worst-case error; clamping keeps P100 == max and P0 == min.
      const double mid = static_cast<double>(bucket_low(i)) +
                         (static_cast<double>(bucket_width(i)) - 1.0) / 2.0;
      return std::clamp(mid, static_cast<double>(min_), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

}  // namespace ragd::bench
