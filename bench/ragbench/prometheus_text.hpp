// Reading figures out of a Prometheus text exposition (ragd's GET /metrics): the sum of a
// metric's samples, optionally only those with one label value, and a metric broken down
// by one label. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragd::bench {

// Sum of every sample of `name` (exact name, so `x_total` does not match `x_total_bytes`)
// whose labels include label="value" when a label is given; nullopt when none matched.
std::optional<double> prometheus_sum(std::string_view text, std::string_view name,
                                     std::string_view label = {}, std::string_view value = {});

// Samples of `name` summed per value of `label`: {"hit": 10, "miss": 4}.
std::map<std::string, double> prometheus_by_label(std::string_view text, std::string_view name,
                                                  std::string_view label);

// One histogram series (`name_bucket`, `name_sum`, `name_count` with label="value"):
// cumulative counts by upper bound, ascending, the last one +Inf.
struct HistogramSnapshot {
  std::vector<std::pair<double, double>> buckets;  // (le, observations <= le)
  double sum = 0;
  double count = 0;
};

// nullopt when the series has no buckets in `text`.
std::optional<HistogramSnapshot> prometheus_histogram(std::string_view text, std::string_view name,
                                                      std::string_view label = {}, std::string_view value = {});

// What was observed between two scrapes of one series (`after` - `before`, bucket by
// bucket). A bucket layout that changed, or counts that went down (the process restarted),
// give nullopt: the difference would mean nothing.
std::optional<HistogramSnapshot> histogram_delta(const HistogramSnapshot& before, const HistogramSnapshot& after);

// The q-quantile (0 < q < 1) estimated as Prometheus's histogram_quantile does: linear
// within the bucket that holds it, from 0 for the first bucket; the highest finite bound
// when it falls in +Inf. nullopt with no observations.
std::optional<double> histogram_quantile(const HistogramSnapshot& h, double q);

// The share of observations at or under `bound` (0..1), exact when `bound` is a bucket's
// upper bound and interpolated like histogram_quantile otherwise; nullopt with none.
std::optional<double> histogram_share_at_most(const HistogramSnapshot& h, double bound);

}  // namespace ragd::bench
