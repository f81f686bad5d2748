// What a load step measures: per-thread shards of counters and latency histograms that the
// load loops fill without locks, and the summary (QPS, percentiles, error breakdown, cache
// distribution, efficiency) computed from the merged shards once a step is over.
//
// Thread-safety: a RunShard belongs to one I/O thread while a step runs; merge and
// summarise only after those threads have joined.
#pragma once

#include "ragbench/histogram.hpp"
#include "ragbench/stage_timings.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::bench {

struct Stats {
  LatencyHistogram latency;  // successful (2xx) responses only
  // Streamed answers (--stream): from the request's send to the first piece of the answer
  // (the first `event: delta`); empty otherwise.
  LatencyHistogram first_token;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::map<std::string, std::uint64_t> errors_by_kind;  // "http_503", "timeout", "connect", "io"
  std::map<std::string, std::uint64_t> cache;            // the /query `cache` field: hit, miss...

  // `first_token_micros`: 0 when the answer did not stream.
  void record_ok(std::uint64_t micros, std::string_view cache_value, std::uint64_t first_token_micros = 0);
  void record_error(const std::string& kind);
  void merge(const Stats& other);
};

// Completions as they happen, for the soak sampler's per-second QPS. Relaxed atomics: the
// sampler only needs a count that is eventually right, not ordering with anything else.
struct LiveCounters {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> errors{0};
};

struct RunShard {
  Stats total;
  std::vector<Stats> per_scenario;
  // Soak drift: the first and the last 10% of the measured window.
  LatencyHistogram first_window;
  LatencyHistogram last_window;
  std::uint64_t first_ok = 0;
  std::uint64_t last_ok = 0;
  std::uint64_t unsent = 0;  // open loop: sends due before the end that never went out

  explicit RunShard(std::size_t scenarios = 0) : per_scenario(scenarios) {}
  void merge(const RunShard& other);
};

struct LatencySummary {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
};

LatencySummary summarize_latency(const LatencyHistogram& h);

struct StatsSummary {
  std::string name;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  double qps = 0;  // successful responses per second of the measured window
  LatencySummary latency;
  std::optional<LatencySummary> first_token;  // streamed answers: time to the first piece
  double error_pct = 0;
  std::optional<double> hit_pct;        // hit + stale over responses carrying a cache field
  std::optional<double> miss_fraction;  // miss over responses carrying a cache field
  std::map<std::string, std::uint64_t> errors_by_kind;
  std::map<std::string, std::uint64_t> cache;
};

StatsSummary summarize(const Stats& s, double seconds, std::string name = {});

// One row of the report: a closed-loop step, an open-loop rate or a soak.
struct StepResult {
  std::string mode;         // "closed" or "open"
  int concurrency = 0;      // connections (closed loop: the concurrency)
  double offered_rate = 0;  // open loop: requests per second asked for
  double seconds = 0;       // measured window
  StatsSummary total;
  std::vector<StatsSummary> scenarios;
  std::uint64_t unsent = 0;
  double client_cpu_cores = 0;       // ragbench's own CPU over the step, in cores
  double client_cpu_us_per_req = 0;  // ragbench's CPU per completed request
  // CPU of the sampled server processes (--sample-pids, --sample-proc-names) per completed
  // request, by process name; empty when none are sampled.
  std::map<std::string, double> server_cpu_us_per_req;
  // Redis commands per completed request over the step (--redis-stats), by command; empty
  // when not asked for.
  std::map<std::string, double> redis_commands_per_req;
  // The host's 1-minute load average at the end of the step (/proc/loadavg): on a shared
  // machine, what else was running.
  std::optional<double> load_average;
  std::optional<double> ideal_qps;   // concurrency / (miss fraction x model latency)
  std::optional<double> efficiency;  // measured / ideal
  std::optional<bool> within_bound;  // open loop: P99 under --p99-bound-ms, no backlog
  // ragd's stage timings over the step, warm-up included, from its /metrics; empty when
  // the target is not a ragd or computed nothing.
  std::optional<StageTimings> ragd_stages;
};

// Ideal closed-loop throughput when every miss costs the model's latency and hits are free.
std::optional<double> ideal_closed_loop_qps(int concurrency, std::optional<double> miss_fraction,
                                            double model_latency_ms);

// The string value of a top-level-looking "key": "value" pair in a JSON body, found without
// parsing the body (a /query answer is kilobytes; parsing each would cost the tool more CPU
// than the server spends). Keys inside string values are escaped, so they never match.
std::optional<std::string_view> find_json_string_field(std::string_view body, std::string_view key);

}  // namespace ragd::bench
