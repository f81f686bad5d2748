#include "ragd/orchestrator/stage_metrics.hpp"

#include "ragd/metrics/metrics.hpp"

namespace ragd::orchestrator {

namespace {

metrics::Family<metrics::Histogram>& stages(metrics::Registry& r) {
  return r.histogram("ragd_stage_duration_ms", "Time spent in each stage of a query, in milliseconds.", {"stage"});
}

}  // namespace

StageMetrics::StageMetrics(metrics::Registry& r)
    : rules(stages(r).with({"rules"})), profile(stages(r).with({"profile"})), history(stages(r).with({"history"})),
      cache_lookup(stages(r).with({"cache_lookup"})), retrieve(stages(r).with({"retrieve"})),
      queue_wait(stages(r).with({"queue_wait"})), queue_pickup(stages(r).with({"queue_pickup"})),
      queue_enqueue(stages(r).with({"queue_enqueue"})), llm(stages(r).with({"llm"})),
      cache_store(stages(r).with({"cache_store"})), overhead(stages(r).with({"overhead"})),
      first_token(stages(r).with({"first_token"})),
      total(stages(r).with({"total"})) {}

}  // namespace ragd::orchestrator
