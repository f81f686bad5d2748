// The histogram ragd_stage_duration_ms{stage}, one series per stage of a query, looked up
// once at construction: Family::with() takes a lock and searches a map, which a query would
// otherwise pay a dozen times. Thread-safety: observe from any thread.
#pragma once

namespace ragd::metrics {
class Registry;
class Histogram;
}

namespace ragd::orchestrator {

struct StageMetrics {
  metrics::Histogram &rules, &profile, &history, &cache_lookup, &retrieve, &queue_wait, &queue_pickup,
      &queue_enqueue, &llm, &cache_store, &overhead, &first_token, &total;

  explicit StageMetrics(metrics::Registry& registry);
};

}  // namespace ragd::orchestrator
