// LatencyHistogram: a fixed-size, log-linear histogram of latencies in microseconds, in the
// spirit of HdrHistogram. Values below 256 µs are exact; above, each power of two is split
// into 128 buckets, so a reported percentile is within 0.4% of the true value (the bucket
// midpoint; half a bucket of 1/128 relative width). Memory is fixed (~36 KB) whatever the
// run length, which keeps a soak of hours bounded.
//
// Thread-safety: none. ragbench gives each I/O thread its own histograms and merges them
// after the threads have joined.
#pragma once

#include <cstdint>
#include <vector>

namespace ragd::bench {

class LatencyHistogram {
 public:
  // Largest value kept apart; larger values are clamped to it (about 12 days in µs).
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << 40) - 1;

  LatencyHistogram();

  void record(std::uint64_t micros) noexcept;
  void merge(const LatencyHistogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;

  // The value at percentile p (0..100) in µs: the smallest recorded bucket whose cumulative
  // count reaches ceil(p% of count). 0 when empty.
  double percentile(double p) const noexcept;

  // Bucket arithmetic, public for the tests.
  static std::size_t bucket_of(std::uint64_t micros) noexcept;
  static std::uint64_t bucket_low(std::size_t index) noexcept;
  static std::uint64_t bucket_width(std::size_t index) noexcept;
  static std::size_t bucket_count() noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace ragd::bench
