#include "ragbench/report.hpp"

#include <cmath>
#include <cstdio>

namespace ragd::bench {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string pad_left(const std::string& s, std::size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }

bool any_efficiency(const std::vector<StepResult>& steps) {
  for (const auto& s : steps) {
    if (s.efficiency) return true;
  }
  return false;
}

bool any_stages(const std::vector<StepResult>& steps) {
  for (const auto& s : steps) {
    if (s.ragd_stages) return true;
  }
  return false;
}

bool any_first_token(const std::vector<StepResult>& steps) {
  for (const auto& s : steps) {
    if (s.total.first_token) return true;
  }
  return false;
}

bool any_open(const std::vector<StepResult>& steps) {
  for (const auto& s : steps) {
    if (s.mode == "open") return true;
  }
  return false;
}

}  // namespace

std::string format_table(const std::vector<StepResult>& steps, TableStyle style) {
  const bool open = any_open(steps);
  const bool eff = any_efficiency(steps);
  const bool stages = any_stages(steps);
  const bool ttft = any_first_token(steps);
  std::vector<std::string> head = {open ? "rate" : "concurrency", "QPS", "P50 ms", "P90", "P99", "P99.9", "errors %", "hit %"};
  if (ttft) {
    head.push_back("TTFT P50");
    head.push_back("TTFT P99");
  }
  if (eff) head.push_back("eff");
  if (stages) {
    head.push_back("ovh P50");
    head.push_back("ovh P99");
  }
  if (open) head.push_back("P99 ok");
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : steps) {
    const auto& t = s.total;
    std::vector<std::string> r = {
        open ? fmt("%.0f", s.offered_rate) : std::to_string(s.concurrency),
        fmt("%.1f", t.qps),
        fmt("%.2f", t.latency.p50_ms),
        fmt("%.2f", t.latency.p90_ms),
        fmt("%.2f", t.latency.p99_ms),
        fmt("%.2f", t.latency.p999_ms),
        fmt("%.2f", t.error_pct),
        t.hit_pct ? fmt("%.1f", *t.hit_pct) : "-"};
    if (ttft) {
      r.push_back(t.first_token ? fmt("%.2f", t.first_token->p50_ms) : "-");
      r.push_back(t.first_token ? fmt("%.2f", t.first_token->p99_ms) : "-");
    }
    if (eff) r.push_back(s.efficiency ? fmt("%.2f", *s.efficiency) : "-");
    if (stages) {
      r.push_back(s.ragd_stages ? fmt("%.2f", s.ragd_stages->overhead_p50_ms) : "-");
      r.push_back(s.ragd_stages ? fmt("%.2f", s.ragd_stages->overhead_p99_ms) : "-");
    }
    if (open) r.push_back(s.within_bound ? (*s.within_bound ? "yes" : "no") : "-");
    rows.push_back(std::move(r));
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    if (style == TableStyle::markdown) out += "| ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out += " | ";
      out += pad_left(cells[c], width[c]);
    }
    out += style == TableStyle::markdown ? " |\n" : "\n";
  };
  line(head);
  if (style == TableStyle::markdown) {
    out += "|";
    for (std::size_t c = 0; c < head.size(); ++c) out += std::string(width[c] + 1, '-') + ":|";
    out += "\n";
  }
  for (const auto& r : rows) line(r);
  return out;
}

namespace {

// "    <label>: a 1.0 us, b 2.0 us, total 3.0 us" from a by-name map; nothing when empty.
void append_per_request(std::string& out, const std::string& label, const std::map<std::string, double>& by_name,
                        const char* format, const std::string& unit) {
  if (by_name.empty()) return;
  out += "    " + label + ":";
  double total = 0;
  for (const auto& [name, value] : by_name) {
    out += " " + name + " " + fmt(format, value) + unit + ",";
    total += value;
  }
  out += " total " + fmt(format, total) + unit + "\n";
}

}  // namespace

std::string format_breakdown(const StepResult& step) {
  std::string out;
  const std::string label = step.mode == "open" ? "rate " + fmt("%.0f", step.offered_rate) + "/s"
                                                : "concurrency " + std::to_string(step.concurrency);
  out += "  " + label + ": " + std::to_string(step.total.ok) + " ok, " + std::to_string(step.total.errors) +
         " errors in " + fmt("%.1f", step.seconds) + " s";
  if (step.unsent > 0) out += ", " + std::to_string(step.unsent) + " due but never sent (backlog)";
  out += "\n";
  if (!step.total.errors_by_kind.empty()) {
    out += "    errors:";
    for (const auto& [k, v] : step.total.errors_by_kind) out += " " + k + "=" + std::to_string(v);
    out += "\n";
  }
  if (!step.total.cache.empty()) {
    out += "    cache:";
    for (const auto& [k, v] : step.total.cache) out += " " + k + "=" + std::to_string(v);
    out += "\n";
  }
  if (step.scenarios.size() > 1) {
    for (const auto& s : step.scenarios) {
      out += "    scenario " + s.name + ": " + fmt("%.1f", s.qps) + " QPS, P50 " + fmt("%.2f", s.latency.p50_ms) +
             " ms, P99 " + fmt("%.2f", s.latency.p99_ms) + " ms, errors " + fmt("%.2f", s.error_pct) + "%, hit " +
             (s.hit_pct ? fmt("%.1f", *s.hit_pct) + "%" : std::string("-")) + "\n";
    }
  }
  if (step.ideal_qps) {
    out += "    ideal QPS " + fmt("%.1f", *step.ideal_qps) + " (concurrency / (miss fraction x model latency))\n";
  }
  if (const auto& st = step.ragd_stages) {
    out += "    ragd overhead per computed answer (" + std::to_string(st->computed) + "): mean " +
           fmt("%.2f", st->overhead_mean_ms) + " ms, P50 " + fmt("%.2f", st->overhead_p50_ms) + ", P90 " +
           fmt("%.2f", st->overhead_p90_ms) + ", P99 " + fmt("%.2f", st->overhead_p99_ms) + " (from buckets); " +
           fmt("%.1f", st->overhead_within_1ms * 100) + "% within 1 ms, " + fmt("%.1f", st->overhead_within_5ms * 100) +
           "% within 5 ms\n";
    out += "    ragd stage means ms:";
    for (const auto& [stage, ms] : st->stage_mean_ms) out += " " + stage + " " + fmt("%.2f", ms);
    out += "\n";
  }
  out += "    ragbench CPU: " + fmt("%.2f", step.client_cpu_cores) + " cores, " +
         fmt("%.1f", step.client_cpu_us_per_req) + " us per request";
  if (step.load_average) out += "; host load average " + fmt("%.2f", *step.load_average);
  out += "\n";
  append_per_request(out, "server CPU per request", step.server_cpu_us_per_req, "%.1f", " us");
  append_per_request(out, "Redis commands per request", step.redis_commands_per_req, "%.2f", "");
  return out;
}

nlohmann::json to_json(const StatsSummary& s) {
  nlohmann::json j = {{"ok", s.ok},
                      {"errors", s.errors},
                      {"qps", s.qps},
                      {"p50_ms", s.latency.p50_ms},
                      {"p90_ms", s.latency.p90_ms},
                      {"p99_ms", s.latency.p99_ms},
                      {"p999_ms", s.latency.p999_ms},
                      {"max_ms", s.latency.max_ms},
                      {"mean_ms", s.latency.mean_ms},
                      {"error_pct", s.error_pct},
                      {"errors_by_kind", s.errors_by_kind},
                      {"cache", s.cache}};
  if (!s.name.empty()) j["name"] = s.name;
  j["hit_pct"] = s.hit_pct ? nlohmann::json(*s.hit_pct) : nlohmann::json();
  j["miss_fraction"] = s.miss_fraction ? nlohmann::json(*s.miss_fraction) : nlohmann::json();
  if (s.first_token) {
    j["first_token"] = {{"p50_ms", s.first_token->p50_ms},
                        {"p90_ms", s.first_token->p90_ms},
                        {"p99_ms", s.first_token->p99_ms},
                        {"max_ms", s.first_token->max_ms}};
  }
  return j;
}

nlohmann::json to_json(const StepResult& step) {
  nlohmann::json scenarios = nlohmann::json::array();
  for (const auto& s : step.scenarios) scenarios.push_back(to_json(s));
  nlohmann::json j = {{"mode", step.mode},
                      {"concurrency", step.concurrency},
                      {"seconds", step.seconds},
                      {"total", to_json(step.total)},
                      {"scenarios", std::move(scenarios)},
                      {"client_cpu_cores", step.client_cpu_cores},
                      {"client_cpu_us_per_request", step.client_cpu_us_per_req},
                      {"server_cpu_us_per_request", step.server_cpu_us_per_req},
                      {"redis_commands_per_request", step.redis_commands_per_req},
                      {"load_average", step.load_average ? nlohmann::json(*step.load_average) : nlohmann::json()}};
  if (step.mode == "open") {
    j["offered_rate"] = step.offered_rate;
    j["unsent"] = step.unsent;
    j["within_bound"] = step.within_bound ? nlohmann::json(*step.within_bound) : nlohmann::json();
  }
  if (const auto& st = step.ragd_stages) {
    j["ragd_stages"] = {{"computed", st->computed},
                        {"overhead_mean_ms", st->overhead_mean_ms},
                        {"overhead_p50_ms", st->overhead_p50_ms},
                        {"overhead_p90_ms", st->overhead_p90_ms},
                        {"overhead_p99_ms", st->overhead_p99_ms},
                        {"overhead_within_1ms", st->overhead_within_1ms},
                        {"overhead_within_5ms", st->overhead_within_5ms},
                        {"stage_mean_ms", st->stage_mean_ms}};
  } else {
    j["ragd_stages"] = nullptr;
  }
  j["ideal_qps"] = step.ideal_qps ? nlohmann::json(*step.ideal_qps) : nlohmann::json();
  j["efficiency"] = step.efficiency ? nlohmann::json(*step.efficiency) : nlohmann::json();
  return j;
}

ChartPanel steps_panel(const std::vector<StepResult>& steps, const std::string& title) {
  ChartPanel p;
  p.title = title;
  const bool open = any_open(steps);
  p.x_label = open ? "offered rate (requests/s)" : "concurrency (connections)";
  p.left_label = "QPS";
  p.right_label = "latency (ms)";
  ChartSeries qps{"QPS", {}, false, "#1f77b4"};
  ChartSeries p50{"P50 ms", {}, true, "#2ca02c"};
  ChartSeries p99{"P99 ms", {}, true, "#d62728"};
  for (const auto& s : steps) {
    p.x.push_back(open ? s.offered_rate : static_cast<double>(s.concurrency));
    qps.y.push_back(s.total.qps);
    // No successful response: no latency to draw, rather than a misleading zero.
    p50.y.push_back(s.total.ok ? s.total.latency.p50_ms : NAN);
    p99.y.push_back(s.total.ok ? s.total.latency.p99_ms : NAN);
  }
  p.series = {std::move(qps), std::move(p50), std::move(p99)};
  return p;
}

}  // namespace ragd::bench
