// Rendering of results: the terminal table (`concurrency | QPS | P50 ms | P90 | P99 |
// P99.9 | errors % | hit %`, plus `TTFT P50 | TTFT P99` for streamed answers (the time to
// the first piece), `eff` when efficiency is known and `ovh P50 | ovh P99`, ragd's
// overhead per computed answer, when its /metrics were read), its Markdown twin, the
// per-step breakdown lines, JSON for machines and the SVG panels for steps.
//
// Thread-safety: pure functions.
#pragma once

#include "ragbench/stats.hpp"
#include "ragbench/svg_chart.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ragd::bench {

enum class TableStyle { terminal, markdown };

std::string format_table(const std::vector<StepResult>& steps, TableStyle style = TableStyle::terminal);

// The lines under the table for one step: error breakdown, cache distribution,
// per-scenario figures and the tool's own CPU use.
std::string format_breakdown(const StepResult& step);

nlohmann::json to_json(const StatsSummary& s);
nlohmann::json to_json(const StepResult& step);

// QPS and P50/P99 against concurrency (closed loop) or offered rate (open loop).
ChartPanel steps_panel(const std::vector<StepResult>& steps, const std::string& title);

}  // namespace ragd::bench
