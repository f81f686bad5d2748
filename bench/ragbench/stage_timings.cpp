#include "ragbench/stage_timings.hpp"

#include "ragbench/prometheus_text.hpp"

namespace ragd::bench {

namespace {

constexpr std::string_view kStageMetric = "ragd_stage_duration_ms";

}  // namespace

std::optional<StageTimings> stage_timings(std::string_view before, std::string_view after) {
  auto a = prometheus_histogram(after, kStageMetric, "stage", "overhead");
  if (!a) return std::nullopt;
  // No series before (a ragd that creates its series at their first observation) means none yet.
  auto b = prometheus_histogram(before, kStageMetric, "stage", "overhead");
  auto d = b ? histogram_delta(*b, *a) : a;
  if (!d || d->count < 1) return std::nullopt;
  StageTimings t;
  t.computed = static_cast<std::uint64_t>(d->count);
  t.overhead_mean_ms = d->sum / d->count;
  t.overhead_p50_ms = histogram_quantile(*d, 0.50).value_or(0);
  t.overhead_p90_ms = histogram_quantile(*d, 0.90).value_or(0);
  t.overhead_p99_ms = histogram_quantile(*d, 0.99).value_or(0);
  t.overhead_within_1ms = histogram_share_at_most(*d, 1.0).value_or(0);
  t.overhead_within_5ms = histogram_share_at_most(*d, 5.0).value_or(0);
  const std::string count_name = std::string(kStageMetric) + "_count";
  const std::string sum_name = std::string(kStageMetric) + "_sum";
  const auto counts_before = prometheus_by_label(before, count_name, "stage");
  const auto sums_before = prometheus_by_label(before, sum_name, "stage");
  const auto sums_after = prometheus_by_label(after, sum_name, "stage");
  for (const auto& [stage, count] : prometheus_by_label(after, count_name, "stage")) {
    if (stage == "overhead") continue;
    auto cb = counts_before.find(stage);
    auto sb = sums_before.find(stage);
    auto sa = sums_after.find(stage);
    const double n = count - (cb == counts_before.end() ? 0 : cb->second);
    if (n < 1 || sa == sums_after.end()) continue;
    t.stage_mean_ms[stage] = (sa->second - (sb == sums_before.end() ? 0 : sb->second)) / n;
  }
  return t;
}

}  // namespace ragd::bench
