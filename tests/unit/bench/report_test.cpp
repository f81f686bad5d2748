#include "ragbench/proc_stats.hpp"
#include "ragbench/prometheus_text.hpp"
#include "ragbench/report.hpp"
#include "ragbench/soak.hpp"
#include "ragbench/stats.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include <unistd.h>

using namespace ragd::bench;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

StepResult measured_step(int concurrency, std::uint64_t hits, std::uint64_t misses, std::uint64_t errors) {
  Stats s;
  for (std::uint64_t i = 0; i < hits; ++i) s.record_ok(1000, "hit");
  for (std::uint64_t i = 0; i < misses; ++i) s.record_ok(51000, "miss");
  for (std::uint64_t i = 0; i < errors; ++i) s.record_error("http_503");
  StepResult r;
  r.mode = "closed";
  r.concurrency = concurrency;
  r.seconds = 10;
  r.total = summarize(s, 10);
  return r;
}

}  // namespace

TEST(Summarize, CountsQpsErrorsAndTheCacheMix) {
  auto r = measured_step(50, 40, 60, 1);
  EXPECT_DOUBLE_EQ(r.total.qps, 10.0);
  EXPECT_NEAR(r.total.error_pct, 100.0 / 101.0, 1e-9);
  EXPECT_DOUBLE_EQ(*r.total.hit_pct, 40.0);
  EXPECT_DOUBLE_EQ(*r.total.miss_fraction, 0.6);
  EXPECT_EQ(r.total.errors_by_kind.at("http_503"), 1u);
}

TEST(IdealQps, IsConcurrencyOverMissFractionTimesModelLatency) {
  EXPECT_DOUBLE_EQ(*ideal_closed_loop_qps(100, 0.6, 50), 100 / (0.6 * 0.05));
  EXPECT_FALSE(ideal_closed_loop_qps(100, 0.0, 50));  // all hits: no model bound
  EXPECT_FALSE(ideal_closed_loop_qps(100, std::nullopt, 50));
}

TEST(FormatTable, PrintsTheAgreedColumnsAlignedOneRowPerStep) {
  std::vector<StepResult> steps = {measured_step(50, 40, 60, 0), measured_step(400, 4, 6, 0)};
  auto out = lines(format_table(steps));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].find("concurrency | "), 0u);
  for (const char* col : {"QPS", "P50 ms", "P90", "P99", "P99.9", "errors %", "hit %"}) {
    EXPECT_NE(out[0].find(col), std::string::npos) << col;
  }
  EXPECT_EQ(out[0].find("eff"), std::string::npos);  // no model latency given
  EXPECT_EQ(out[1].size(), out[0].size());
  EXPECT_EQ(out[2].size(), out[0].size());
  EXPECT_NE(out[1].find("  50 | "), std::string::npos);
  EXPECT_NE(out[2].find(" 400 | "), std::string::npos);
}

TEST(FormatTable, AddsEfficiencyWhenKnownAndMarkdownGetsARule) {
  auto s = measured_step(100, 40, 60, 0);
  s.efficiency = 0.87;
  auto out = lines(format_table({s}, TableStyle::markdown));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].front(), '|');
  EXPECT_NE(out[0].find(" eff |"), std::string::npos);
  EXPECT_EQ(out[1].find("|-"), 0u);
  EXPECT_NE(out[2].find("0.87"), std::string::npos);
}

TEST(FormatTable, OpenLoopRowsShowTheRateAndWhetherP99Held) {
  auto s = measured_step(64, 40, 60, 0);
  s.mode = "open";
  s.offered_rate = 1000;
  s.within_bound = false;
  auto out = lines(format_table({s}));
  EXPECT_EQ(out[0].find("rate | "), 0u);
  EXPECT_NE(out[0].find("P99 ok"), std::string::npos);
  EXPECT_NE(out[1].find("1000"), std::string::npos);
  EXPECT_NE(out[1].find("no"), std::string::npos);
}

TEST(FormatTable, StreamedStepsShowTheTimeToTheFirstPiece) {
  Stats s;
  for (int i = 0; i < 99; ++i) s.record_ok(60000, "miss", 12000);
  s.record_ok(90000, "miss", 48000);
  StepResult r;
  r.mode = "closed";
  r.concurrency = 10;
  r.seconds = 10;
  r.total = summarize(s, 10);
  ASSERT_TRUE(r.total.first_token.has_value());
  EXPECT_NEAR(r.total.first_token->p50_ms, 12.0, 0.5);
  auto out = lines(format_table({r}));
  EXPECT_NE(out[0].find("TTFT P50 | TTFT P99"), std::string::npos) << out[0];
  EXPECT_NE(out[1].find("12."), std::string::npos) << out[1];
  EXPECT_NEAR(to_json(r)["total"]["first_token"]["p50_ms"].get<double>(), 12.0, 0.5);
  // Steps that did not stream have no such columns.
  EXPECT_EQ(lines(format_table({measured_step(10, 1, 1, 0)}))[0].find("TTFT"), std::string::npos);
}

TEST(FindJsonStringField, FindsTheCacheFieldWithoutParsing) {
  EXPECT_EQ(*find_json_string_field(R"({"answer":"x","cache":"hit","model":"m"})", "cache"), "hit");
  EXPECT_EQ(*find_json_string_field(R"({"cache" : "stale"})", "cache"), "stale");
  // The word inside an answer is escaped and must not be taken for the field.
  EXPECT_EQ(*find_json_string_field(R"({"answer":"the \"cache\":\"bogus\" text","cache":"miss"})", "cache"), "miss");
  EXPECT_FALSE(find_json_string_field(R"({"status":"ok"})", "cache"));
  EXPECT_FALSE(find_json_string_field(R"({"cache":3})", "cache"));
  EXPECT_FALSE(find_json_string_field(R"({"cachex":"hit"})", "cache"));
}

TEST(PrometheusText, SumsSamplesByNameAndLabel) {
  const std::string text =
      "# HELP ragd_answer_cache_total Answer cache outcomes.\n"
      "# TYPE ragd_answer_cache_total counter\n"
      "ragd_answer_cache_total{result=\"hit\"} 40\n"
      "ragd_answer_cache_total{result=\"miss\"} 60\n"
      "ragd_answer_cache_total{result=\"stale\"} 2\n"
      "ragd_answer_cache_total_extra 5\n"
      "ragd_queue_depth 7\n";
  EXPECT_EQ(*prometheus_sum(text, "ragd_queue_depth"), 7);
  EXPECT_EQ(*prometheus_sum(text, "ragd_answer_cache_total"), 102);
  EXPECT_EQ(*prometheus_sum(text, "ragd_answer_cache_total", "result", "hit"), 40);
  EXPECT_FALSE(prometheus_sum(text, "ragd_missing"));
  auto by = prometheus_by_label(text, "ragd_answer_cache_total", "result");
  EXPECT_EQ(by.size(), 3u);
  EXPECT_EQ(by["miss"], 60);
}

TEST(ProcStat, ParsesNamesWithSpacesAndParentheses) {
  const std::string line =
      "1234 (ragd (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0 1000 123456789 4096 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  auto s = parse_proc_stat(line);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "ragd (x) y");
  EXPECT_EQ(s->cpu_ticks, 300u);
  EXPECT_EQ(s->rss_pages, 4096u);
  EXPECT_FALSE(parse_proc_stat("garbage"));
}

TEST(ProcStat, SumsCpuTicksByProcessName) {
  // This test's own process, by pid and again by name: counted once, under its comm.
  volatile double spin = 0;
  const double start = self_cpu_seconds();
  while (self_cpu_seconds() - start < 0.05) spin = spin + 1;
  const auto self = read_proc_stat(getpid());
  ASSERT_TRUE(self);
  const auto by_name = cpu_ticks_by_name({getpid()}, {self->comm, "no-such-process-name"});
  ASSERT_EQ(by_name.size(), 1u);
  ASSERT_TRUE(by_name.count(self->comm));
  EXPECT_GE(by_name.at(self->comm), self->cpu_ticks);
  EXPECT_GT(by_name.at(self->comm), 0u);
  EXPECT_TRUE(cpu_ticks_by_name({}, {}).empty());
}

TEST(FormatBreakdown, ListsServerCpuPerRequestWhenSampled) {
  StepResult r = measured_step(100, 10, 10, 0);
  EXPECT_EQ(format_breakdown(r).find("server CPU"), std::string::npos);
  r.server_cpu_us_per_req = {{"ragd", 270.5}, {"redis-server", 80.25}};
  const std::string text = format_breakdown(r);
  EXPECT_NE(text.find("server CPU per request: ragd 270.5 us, redis-server 80.2 us, total 350.8 us"),
            std::string::npos)
      << text;
  EXPECT_EQ(to_json(r)["server_cpu_us_per_request"]["ragd"], 270.5);
}

TEST(FormatBreakdown, ListsRedisCommandsPerRequestAndTheLoadAverage) {
  StepResult r = measured_step(100, 10, 10, 0);
  EXPECT_EQ(format_breakdown(r).find("Redis commands"), std::string::npos);
  r.redis_commands_per_req = {{"get", 1.25}, {"xadd", 0.5}};
  r.load_average = 3.5;
  const std::string text = format_breakdown(r);
  EXPECT_NE(text.find("Redis commands per request: get 1.25, xadd 0.50, total 1.75"), std::string::npos) << text;
  EXPECT_NE(text.find("host load average 3.50"), std::string::npos) << text;
  EXPECT_EQ(to_json(r)["redis_commands_per_request"]["xadd"], 0.5);
  EXPECT_EQ(to_json(r)["load_average"], 3.5);
}

TEST(SoakDrift, ComparesTheFirstAndLastTenthOfTheRun) {
  std::vector<SoakSample> samples;
  for (int t = 1; t <= 100; ++t) {
    SoakSample s;
    s.t_s = t;
    s.processes = {{"ragd", t <= 10 ? 100.0 : 104.0, 0, 1}};
    samples.push_back(s);
  }
  LatencyHistogram first, last;
  for (int i = 0; i < 1000; ++i) first.record(10000);
  for (int i = 0; i < 900; ++i) last.record(11000);
  auto d = compute_drift(samples, 100, first, last, 10);
  EXPECT_NEAR(*d.rss_growth_pct, 4.0, 1e-9);
  EXPECT_NEAR(*d.p99_drift_pct, 10.0, 0.5);
  EXPECT_NEAR(*d.qps_drift_pct, -10.0, 1e-9);
  EXPECT_NE(format_drift(d).find("RSS growth +4.0%"), std::string::npos);
}
