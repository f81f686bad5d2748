#include "ragbench/prometheus_text.hpp"
#include "ragbench/report.hpp"
#include "ragbench/stage_timings.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace ragd::bench;

namespace {

// ragd's exposition of ragd_stage_duration_ms with the given per-bucket (not cumulative)
// overhead counts over the bounds 1, 5, 10, +Inf, and two other stages.
std::string exposition(const std::vector<double>& per_bucket, double overhead_sum, double llm_count, double llm_sum) {
  const char* bounds[] = {"1", "5", "10", "+Inf"};
  std::string text =
      "# HELP ragd_stage_duration_ms Time per pipeline stage.\n"
      "# TYPE ragd_stage_duration_ms histogram\n";
  double cumulative = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    cumulative += per_bucket[i];
    text += "ragd_stage_duration_ms_bucket{stage=\"overhead\",le=\"" + std::string(bounds[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
    text += "ragd_stage_duration_ms_bucket{stage=\"llm\",le=\"" + std::string(bounds[i]) + "\"} " +
            std::to_string(i == 3 ? llm_count : 0.0) + "\n";
  }
  text += "ragd_stage_duration_ms_sum{stage=\"overhead\"} " + std::to_string(overhead_sum) + "\n";
  text += "ragd_stage_duration_ms_count{stage=\"overhead\"} " + std::to_string(cumulative) + "\n";
  text += "ragd_stage_duration_ms_sum{stage=\"llm\"} " + std::to_string(llm_sum) + "\n";
  text += "ragd_stage_duration_ms_count{stage=\"llm\"} " + std::to_string(llm_count) + "\n";
  text += "ragd_http_request_duration_ms_bucket{route=\"/query\",le=\"1\"} 99\n";
  return text;
}

}  // namespace

TEST(PrometheusHistogram, ReadsOneSeriesBucketsSumAndCount) {
  const std::string text = exposition({2, 3, 4, 1}, 55, 7, 350);
  auto h = prometheus_histogram(text, "ragd_stage_duration_ms", "stage", "overhead");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->buckets.size(), 4u);
  EXPECT_EQ(h->buckets[0].first, 1);
  EXPECT_EQ(h->buckets[1].second, 5);
  EXPECT_TRUE(std::isinf(h->buckets[3].first));
  EXPECT_EQ(h->buckets[3].second, 10);
  EXPECT_EQ(h->sum, 55);
  EXPECT_EQ(h->count, 10);
  EXPECT_FALSE(prometheus_histogram(text, "ragd_stage_duration_ms", "stage", "retrieve"));
  EXPECT_FALSE(prometheus_histogram(text, "ragd_missing"));
}

TEST(PrometheusHistogram, QuantilesInterpolateWithinTheBucketLikePrometheus) {
  HistogramSnapshot h;
  h.buckets = {{1, 2}, {5, 5}, {10, 9}, {INFINITY, 10}};
  h.count = 10;
  // Rank 5 of 10 is the last of the (1, 5] bucket: its upper bound.
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.5), 5.0);
  // Rank 1 is halfway through the first bucket, which starts at 0.
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.1), 0.5);
  // Rank 7 is two of four into (5, 10].
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.7), 7.5);
  // In +Inf: the highest finite bound is all that is known.
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.99), 10.0);
  EXPECT_FALSE(histogram_quantile(HistogramSnapshot{{{1, 0}, {INFINITY, 0}}, 0, 0}, 0.5));
}

TEST(PrometheusHistogram, SharesAtABucketBoundAreExact) {
  HistogramSnapshot h;
  h.buckets = {{1, 2}, {5, 5}, {10, 9}, {INFINITY, 10}};
  EXPECT_DOUBLE_EQ(*histogram_share_at_most(h, 1), 0.2);
  EXPECT_DOUBLE_EQ(*histogram_share_at_most(h, 5), 0.5);
  EXPECT_DOUBLE_EQ(*histogram_share_at_most(h, 7.5), 0.7);  // interpolated between bounds
  EXPECT_DOUBLE_EQ(*histogram_share_at_most(h, 20), 0.9);   // +Inf's share is not placed
}

TEST(PrometheusHistogram, DeltaIsWhatHappenedBetweenScrapesAndRefusesARestart) {
  auto before = prometheus_histogram(exposition({1, 1, 0, 0}, 4, 0, 0), "ragd_stage_duration_ms", "stage", "overhead");
  auto after = prometheus_histogram(exposition({3, 4, 4, 1}, 59, 0, 0), "ragd_stage_duration_ms", "stage", "overhead");
  ASSERT_TRUE(before && after);
  auto d = histogram_delta(*before, *after);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->buckets[0].second, 2);
  EXPECT_EQ(d->buckets[1].second, 5);
  EXPECT_EQ(d->buckets[3].second, 10);
  EXPECT_EQ(d->count, 10);
  EXPECT_EQ(d->sum, 55);
  // Counts that went down (the process restarted) or another bucket layout: no delta.
  EXPECT_FALSE(histogram_delta(*after, *before));
  HistogramSnapshot other = *after;
  other.buckets[1].first = 2;
  EXPECT_FALSE(histogram_delta(*before, other));
}

TEST(StageTimings, OverheadQuantilesSharesAndStageMeansOverTheWindow) {
  const std::string before = exposition({1, 1, 0, 0}, 4, 2, 100);
  const std::string after = exposition({3, 4, 4, 1}, 59, 12, 612);
  auto t = stage_timings(before, after);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->computed, 10u);
  EXPECT_DOUBLE_EQ(t->overhead_mean_ms, 5.5);
  EXPECT_DOUBLE_EQ(t->overhead_p50_ms, 5.0);
  EXPECT_DOUBLE_EQ(t->overhead_within_1ms, 0.2);
  EXPECT_DOUBLE_EQ(t->overhead_within_5ms, 0.5);
  ASSERT_EQ(t->stage_mean_ms.count("llm"), 1u);
  EXPECT_DOUBLE_EQ(t->stage_mean_ms["llm"], 51.2);
  EXPECT_EQ(t->stage_mean_ms.count("overhead"), 0u);
}

TEST(StageTimings, NothingWhenNotRagdOrNothingWasComputed) {
  const std::string ragd = exposition({1, 1, 0, 0}, 4, 0, 0);
  EXPECT_FALSE(stage_timings(ragd, "<html>404</html>"));
  EXPECT_FALSE(stage_timings(ragd, ragd));  // no answer computed in the window
  EXPECT_FALSE(stage_timings(exposition({3, 4, 4, 1}, 59, 0, 0), ragd));  // restarted
}

TEST(StageTimings, AFreshRagdWithoutTheSeriesYetCountsFromZero) {
  auto t = stage_timings("# TYPE ragd_stage_duration_ms histogram\n", exposition({1, 1, 0, 0}, 4, 2, 100));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->computed, 2u);
  EXPECT_DOUBLE_EQ(t->overhead_mean_ms, 2.0);
  EXPECT_DOUBLE_EQ(t->stage_mean_ms["llm"], 50.0);
}

TEST(StageTimings, ReportShowsOverheadColumnsBreakdownAndJson) {
  StepResult r;
  r.mode = "closed";
  r.concurrency = 100;
  r.seconds = 10;
  StepResult plain = r;
  r.ragd_stages = stage_timings(exposition({1, 1, 0, 0}, 4, 2, 100), exposition({3, 4, 4, 1}, 59, 12, 612));
  ASSERT_TRUE(r.ragd_stages);
  const std::string table = format_table({r, plain});
  EXPECT_NE(table.find("ovh P50 | ovh P99"), std::string::npos) << table;
  EXPECT_EQ(format_table({plain}).find("ovh P50"), std::string::npos);
  const std::string text = format_breakdown(r);
  EXPECT_NE(text.find("ragd overhead per computed answer (10): mean 5.50 ms, P50 5.00"), std::string::npos) << text;
  EXPECT_NE(text.find("20.0% within 1 ms, 50.0% within 5 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("ragd stage means ms: llm 51.20"), std::string::npos) << text;
  EXPECT_EQ(format_breakdown(plain).find("ragd overhead"), std::string::npos);
  auto j = to_json(r);
  EXPECT_EQ(j["ragd_stages"]["computed"], 10);
  EXPECT_DOUBLE_EQ(j["ragd_stages"]["overhead_within_5ms"].get<double>(), 0.5);
  EXPECT_TRUE(to_json(plain)["ragd_stages"].is_null());
}
