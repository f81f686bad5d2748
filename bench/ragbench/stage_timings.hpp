// ragd's own account of the answers it computed during a step, from two scrapes of its
// /metrics (before and after): the histogram ragd_stage_duration_ms{stage="overhead"}
// (what ragd added to a computed answer on top of the model's time) and the mean of every
// other stage. The load tool sees only whole requests; this is where their time went.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::bench {

struct StageTimings {
  std::uint64_t computed = 0;  // overhead observations: answers computed, not served from cache
  double overhead_mean_ms = 0;
  // Estimated from the histogram's buckets (linear within a bucket, as Prometheus does).
  double overhead_p50_ms = 0;
  double overhead_p90_ms = 0;
  double overhead_p99_ms = 0;
  // Exact shares (1 and 5 ms are bucket bounds): the targets are P50 under 1 ms and P99
  // under 5 ms, met when these reach 0.5 and 0.99.
  double overhead_within_1ms = 0;
  double overhead_within_5ms = 0;
  std::map<std::string, double> stage_mean_ms;  // every other stage observed in the window
};

// `before` without the overhead series counts as zero (a ragd that creates its series at
// their first observation). nullopt when `after` lacks it (not a ragd), when ragd restarted in between,
// or when it computed nothing in the window.
std::optional<StageTimings> stage_timings(std::string_view before, std::string_view after);

}  // namespace ragd::bench
