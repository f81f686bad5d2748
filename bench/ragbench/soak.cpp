#include "ragbench/soak.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace ragd::bench {

namespace {

std::optional<double> growth_pct(std::optional<double> first, std::optional<double> last) {
  if (!first || !last || *first <= 0) return std::nullopt;
  return (*last - *first) / *first * 100.0;
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

SoakDrift compute_drift(const std::vector<SoakSample>& samples, double run_seconds,
                        const LatencyHistogram& first_window, const LatencyHistogram& last_window,
                        double window_seconds) {
  SoakDrift d;
  // Samples with processes in them; a short run may have none inside a tenth of its length,
  // so each window reaches at least to the first (last) such sample.
  std::vector<std::pair<double, double>> rss;  // (t, total MB)
  for (const auto& s : samples) {
    if (s.processes.empty()) continue;
    double total = 0;
    for (const auto& p : s.processes) total += p.rss_mb;
    rss.emplace_back(s.t_s, total);
  }
  double first_sum = 0, last_sum = 0;
  int first_n = 0, last_n = 0;
  if (!rss.empty()) {
    const double first_edge = std::max(run_seconds * 0.1, rss.front().first);
    const double last_edge = std::min(run_seconds * 0.9, rss.back().first);
    for (const auto& [t, mb] : rss) {
      if (t <= first_edge) first_sum += mb, ++first_n;
      if (t >= last_edge) last_sum += mb, ++last_n;
    }
  }
  if (first_n > 0 && last_n > 0) {
    d.rss_first_mb = first_sum / first_n;
    d.rss_last_mb = last_sum / last_n;
    d.rss_growth_pct = growth_pct(d.rss_first_mb, d.rss_last_mb);
  }
  if (first_window.count() > 0 && last_window.count() > 0) {
    d.p99_first_ms = first_window.percentile(99) / 1000.0;
    d.p99_last_ms = last_window.percentile(99) / 1000.0;
    d.p99_drift_pct = growth_pct(d.p99_first_ms, d.p99_last_ms);
  }
  if (window_seconds > 0) {
    d.qps_first = static_cast<double>(first_window.count()) / window_seconds;
    d.qps_last = static_cast<double>(last_window.count()) / window_seconds;
    d.qps_drift_pct = growth_pct(d.qps_first, d.qps_last);
  }
  return d;
}

std::string format_drift(const SoakDrift& d) {
  auto part = [](const char* what, const std::optional<double>& a, const std::optional<double>& b,
                 const std::optional<double>& pct, const char* unit) {
    if (!pct) return std::string(what) + " n/a";
    return std::string(what) + " " + fmt("%+.1f%%", *pct) + " (" + fmt("%.2f", *a) + " -> " + fmt("%.2f", *b) + " " +
           unit + ")";
  };
  return "drift (first 10% vs last 10%): " + part("RSS growth", d.rss_first_mb, d.rss_last_mb, d.rss_growth_pct, "MB") +
         ", " + part("P99 drift", d.p99_first_ms, d.p99_last_ms, d.p99_drift_pct, "ms") + ", " +
         part("QPS drift", d.qps_first, d.qps_last, d.qps_drift_pct, "QPS") + "\n";
}

nlohmann::json to_json(const SoakSample& s) {
  nlohmann::json procs = nlohmann::json::array();
  for (const auto& p : s.processes) {
    procs.push_back({{"label", p.label}, {"rss_mb", p.rss_mb}, {"cpu_pct", p.cpu_pct}, {"processes", p.processes}});
  }
  return {{"t_s", s.t_s},
          {"qps", s.qps},
          {"errors_per_s", s.errors_per_s},
          {"client_cpu_pct", s.client_cpu_pct},
          {"processes", std::move(procs)},
          {"queue_depth", opt(s.queue_depth)},
          {"cache_hit_ratio", opt(s.cache_hit_ratio)}};
}

nlohmann::json to_json(const SoakDrift& d) {
  return {{"rss_first_mb", opt(d.rss_first_mb)}, {"rss_last_mb", opt(d.rss_last_mb)},
          {"rss_growth_pct", opt(d.rss_growth_pct)}, {"p99_first_ms", opt(d.p99_first_ms)},
          {"p99_last_ms", opt(d.p99_last_ms)},       {"p99_drift_pct", opt(d.p99_drift_pct)},
          {"qps_first", opt(d.qps_first)},           {"qps_last", opt(d.qps_last)},
          {"qps_drift_pct", opt(d.qps_drift_pct)}};
}

std::vector<ChartPanel> soak_panels(const std::vector<SoakSample>& samples) {
  ChartPanel mem;
  mem.title = "Resident memory and queue depth over time";
  mem.x_label = "time (s)";
  mem.left_label = "RSS (MB)";
  mem.right_label = "queue depth";
  mem.markers = samples.size() <= 60;
  ChartPanel load = mem;
  load.title = "Throughput and cache hit ratio over time";
  load.left_label = "QPS";
  load.right_label = "cache hit %";

  std::map<std::string, ChartSeries> rss;  // by process label, in label order
  ChartSeries depth{"queue depth", {}, true, "#7f7f7f"};
  ChartSeries qps{"QPS", {}, false, "#1f77b4"};
  ChartSeries hit{"cache hit %", {}, true, "#ff7f0e"};
  for (std::size_t i = 0; i < samples.size(); ++i) {
    for (const auto& p : samples[i].processes) {
      auto& s = rss[p.label];
      s.name = "RSS " + p.label;
      s.y.resize(i, NAN);  // a process that appears late has a gap before it
    }
  }
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    mem.x.push_back(s.t_s);
    load.x.push_back(s.t_s);
    for (auto& [label, series] : rss) {
      double v = NAN;
      for (const auto& p : s.processes) {
        if (p.label == label) v = p.rss_mb;
      }
      series.y.resize(i, NAN);
      series.y.push_back(v);
    }
    depth.y.push_back(s.queue_depth.value_or(NAN));
    qps.y.push_back(s.qps);
    hit.y.push_back(s.cache_hit_ratio ? *s.cache_hit_ratio * 100.0 : NAN);
  }
  for (auto& [label, series] : rss) mem.series.push_back(std::move(series));
  mem.series.push_back(std::move(depth));
  load.series = {std::move(qps), std::move(hit)};
  return {std::move(mem), std::move(load)};
}

}  // namespace ragd::bench
