// The worker's series in a metrics registry (ragd_worker_*): jobs by outcome, dead-lettered
// jobs by reason, model time, tokens, jobs in flight, queue pickup. Each child is looked up
// once; the series themselves are thread-safe.
#pragma once

#include "ragd/metrics/metrics.hpp"
#include "ragd/queue/job.hpp"

#include <algorithm>
#include <cstdint>

namespace ragd::queue::detail {

// The runner's series in a metrics registry; each child looked up once.
struct JobMetrics {
  explicit JobMetrics(metrics::Registry& r)
      : jobs(r.counter("ragd_worker_jobs_total",
                       "Jobs by outcome: answered (a reply was written), retried (left pending to run "
                       "again), dead_lettered, expired (deadline passed before pickup), cancelled "
                       "(deleted by its gateway)",
                       {"outcome"})),
        answered(jobs.with({"answered"})),
        retried(jobs.with({"retried"})),
        dead_lettered(jobs.with({"dead_lettered"})),
        expired(jobs.with({"expired"})),
        cancelled(jobs.with({"cancelled"})),
        dead_reasons(r.counter("ragd_worker_dead_lettered_total",
                               "Jobs moved to the dead-letter stream, by reason: max_attempts, upstream_error, "
                               "internal",
                               {"reason"})),
        model_ms(r.histogram("ragd_worker_model_duration_ms", "Time in the model call of a job").with({})),
        tokens(r.counter("ragd_worker_tokens_total", "Tokens the model reported, by kind (prompt, completion)",
                         {"kind", "model"})),
        in_flight(r.gauge("ragd_worker_jobs_in_flight", "Jobs running in this worker").with({})),
        pickup_ms(r.histogram("ragd_worker_queue_pickup_ms",
                              "Time from a job's creation to a worker taking it (the gateway's clock "
                              "against the worker's)")
                      .with({})) {}

  metrics::Family<metrics::Counter>& jobs;
  metrics::Counter& answered;
  metrics::Counter& retried;
  metrics::Counter& dead_lettered;
  metrics::Counter& expired;
  metrics::Counter& cancelled;
  metrics::Family<metrics::Counter>& dead_reasons;
  metrics::Histogram& model_ms;
  metrics::Family<metrics::Counter>& tokens;
  metrics::Gauge& in_flight;
  metrics::Histogram& pickup_ms;

  // A finished model call: its time, and the tokens of an answer.
  void observe_model_call(const JobReply& reply) {
    model_ms.observe(reply.llm_ms);
    if (!reply.ok) return;
    tokens.with({"prompt", reply.model}).inc(static_cast<std::uint64_t>(std::max(0, reply.prompt_tokens)));
    tokens.with({"completion", reply.model}).inc(static_cast<std::uint64_t>(std::max(0, reply.completion_tokens)));
  }
};

}  // namespace ragd::queue::detail
