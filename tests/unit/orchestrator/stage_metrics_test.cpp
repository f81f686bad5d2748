#include "ragd/orchestrator/stage_metrics.hpp"

#include "ragd/metrics/metrics.hpp"

#include <gtest/gtest.h>

using namespace ragd;

TEST(StageMetrics, EachStageIsItsOwnSeriesOfOneHistogram) {
  metrics::Registry registry;
  orchestrator::StageMetrics stages(registry);
  stages.rules.observe(1);
  stages.total.observe(3);
  stages.total.observe(5);
  EXPECT_NE(&stages.rules, &stages.total);
  EXPECT_EQ(&stages.total, &registry.histogram("ragd_stage_duration_ms", "", {"stage"}).with({"total"}));
  const std::string text = registry.render();
  EXPECT_NE(text.find("ragd_stage_duration_ms_count{stage=\"rules\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("ragd_stage_duration_ms_count{stage=\"total\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("ragd_stage_duration_ms_count{stage=\"cache_store\"} 0"), std::string::npos) << text;
}
