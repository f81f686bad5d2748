// A soak's time series and its drift: one sample per second of the monitored processes'
// RSS and CPU, ragd's queue depth and answer-cache hit ratio, and the load's own QPS; the
// drift compares the first 10% of the run with the last 10% (RSS growth, P99 drift, QPS
// drift), so a leak or a slowdown shows as a number.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include "ragbench/histogram.hpp"
#include "ragbench/svg_chart.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ragd::bench {

struct ProcessPoint {
  std::string label;   // a name from --sample-proc-names (its processes summed) or "comm PID"
  double rss_mb = 0;
  double cpu_pct = 0;  // of one core, over the last interval
  int processes = 0;
};

struct SoakSample {
  double t_s = 0;  // since the load started
  double qps = 0;  // successful responses per second over the last interval
  double errors_per_s = 0;
  double client_cpu_pct = 0;  // ragbench itself
  std::vector<ProcessPoint> processes;
  std::optional<double> queue_depth;
  std::optional<double> cache_hit_ratio;  // (hit + stale) / all answer-cache outcomes, last interval
};

struct SoakDrift {
  std::optional<double> rss_first_mb, rss_last_mb, rss_growth_pct;
  std::optional<double> p99_first_ms, p99_last_ms, p99_drift_pct;
  std::optional<double> qps_first, qps_last, qps_drift_pct;
};

// Window figures come from the load (first/last 10% histograms and success counts); RSS
// is the sum over all monitored processes, averaged over the samples in each window.
SoakDrift compute_drift(const std::vector<SoakSample>& samples, double run_seconds,
                        const LatencyHistogram& first_window, const LatencyHistogram& last_window,
                        double window_seconds);

std::string format_drift(const SoakDrift& d);

nlohmann::json to_json(const SoakSample& s);
nlohmann::json to_json(const SoakDrift& d);

// RSS per process and queue depth over time; QPS and cache hit ratio over time.
std::vector<ChartPanel> soak_panels(const std::vector<SoakSample>& samples);

}  // namespace ragd::bench
