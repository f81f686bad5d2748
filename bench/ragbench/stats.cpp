#include "ragbench/stats.hpp"

namespace ragd::bench {

void Stats::record_ok(std::uint64_t micros, std::string_view cache_value, std::uint64_t first_token_micros) {
  latency.record(micros);
  if (first_token_micros > 0) first_token.record(first_token_micros);
  ++ok;
  if (!cache_value.empty()) {
    // Heterogeneous lookup would need std::less<>; the values are a handful of short words
    // that fit the small-string buffer, so this does not allocate.
    ++cache[std::string(cache_value)];
  }
}

void Stats::record_error(const std::string& kind) {
  ++errors;
  ++errors_by_kind[kind];
}

void Stats::merge(const Stats& other) {
  latency.merge(other.latency);
  first_token.merge(other.first_token);
  ok += other.ok;
  errors += other.errors;
  for (const auto& [k, v] : other.errors_by_kind) errors_by_kind[k] += v;
  for (const auto& [k, v] : other.cache) cache[k] += v;
}

void RunShard::merge(const RunShard& other) {
  total.merge(other.total);
  if (per_scenario.size() < other.per_scenario.size()) per_scenario.resize(other.per_scenario.size());
  for (std::size_t i = 0; i < other.per_scenario.size(); ++i) per_scenario[i].merge(other.per_scenario[i]);
  first_window.merge(other.first_window);
  last_window.merge(other.last_window);
  first_ok += other.first_ok;
  last_ok += other.last_ok;
  unsent += other.unsent;
}

LatencySummary summarize_latency(const LatencyHistogram& h) {
  LatencySummary s;
  s.p50_ms = h.percentile(50) / 1000.0;
  s.p90_ms = h.percentile(90) / 1000.0;
  s.p99_ms = h.percentile(99) / 1000.0;
  s.p999_ms = h.percentile(99.9) / 1000.0;
  s.max_ms = static_cast<double>(h.max()) / 1000.0;
  s.mean_ms = h.mean() / 1000.0;
  return s;
}

StatsSummary summarize(const Stats& s, double seconds, std::string name) {
  StatsSummary out;
  out.name = std::move(name);
  out.ok = s.ok;
  out.errors = s.errors;
  out.qps = seconds > 0 ? static_cast<double>(s.ok) / seconds : 0;
  out.latency = summarize_latency(s.latency);
  if (s.first_token.count() > 0) out.first_token = summarize_latency(s.first_token);
  const auto all = s.ok + s.errors;
  out.error_pct = all ? 100.0 * static_cast<double>(s.errors) / static_cast<double>(all) : 0;
  out.errors_by_kind = s.errors_by_kind;
  out.cache = s.cache;
  std::uint64_t with_field = 0, hits = 0, misses = 0;
  for (const auto& [k, v] : s.cache) {
    with_field += v;
    if (k == "hit" || k == "stale") hits += v;
    if (k == "miss") misses += v;
  }
  if (with_field > 0) {
    out.hit_pct = 100.0 * static_cast<double>(hits) / static_cast<double>(with_field);
    out.miss_fraction = static_cast<double>(misses) / static_cast<double>(with_field);
  }
  return out;
}

std::optional<double> ideal_closed_loop_qps(int concurrency, std::optional<double> miss_fraction,
                                            double model_latency_ms) {
  if (!miss_fraction || *miss_fraction <= 0 || model_latency_ms <= 0 || concurrency <= 0) return std::nullopt;
  return static_cast<double>(concurrency) / (*miss_fraction * model_latency_ms / 1000.0);
}

std::optional<std::string_view> find_json_string_field(std::string_view body, std::string_view key) {
  std::size_t from = 0;
  while (true) {
    auto pos = body.find(key, from);
    if (pos == std::string_view::npos) return std::nullopt;
    from = pos + 1;
    // The key must be a whole, unescaped string literal: "key" not preceded by a backslash.
    if (pos == 0 || body[pos - 1] != '"' || (pos >= 2 && body[pos - 2] == '\\')) continue;
    std::size_t i = pos + key.size();
    if (i >= body.size() || body[i] != '"') continue;
    ++i;
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) ++i;
    if (i >= body.size() || body[i] != ':') continue;
    ++i;
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) ++i;
    if (i >= body.size() || body[i] != '"') return std::nullopt;  // not a string value
    const std::size_t start = ++i;
    while (i < body.size() && body[i] != '"') {
      if (body[i] == '\\') return std::nullopt;  // escapes do not occur in the values we read
      ++i;
    }
    if (i >= body.size()) return std::nullopt;
    return body.substr(start, i - start);
  }
}

}  // namespace ragd::bench
