#include "ragbench/report.hpp"
#include "ragbench/soak.hpp"
#include "ragbench/svg_chart.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <sstream>

using namespace ragd::bench;
namespace pt = boost::property_tree;

namespace {

pt::ptree parse_xml(const std::string& text) {
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_xml(in, tree);  // throws on XML that is not well formed
  return tree;
}

// data-series attributes of every <polyline> anywhere in the tree.
std::multiset<std::string> series_names(const pt::ptree& tree) {
  std::multiset<std::string> out;
  std::function<void(const pt::ptree&)> walk = [&](const pt::ptree& node) {
    for (const auto& [name, child] : node) {
      if (name == "polyline") out.insert(child.get<std::string>("<xmlattr>.data-series"));
      walk(child);
    }
  };
  walk(tree);
  return out;
}

StepResult step(int concurrency, double qps, double p50, double p99) {
  StepResult r;
  r.mode = "closed";
  r.concurrency = concurrency;
  r.total.ok = 100;
  r.total.qps = qps;
  r.total.latency.p50_ms = p50;
  r.total.latency.p99_ms = p99;
  return r;
}

}  // namespace

TEST(SvgChart, StepsChartIsWellFormedXmlWithQpsAndLatencySeries) {
  std::vector<StepResult> steps = {step(50, 900, 52, 60), step(100, 1800, 53, 70), step(200, 3500, 55, 90)};
  ChartPanel panel = steps_panel(steps, "ragd <standard> & more");  // the title needs escaping
  const std::string svg = render_svg({panel});
  pt::ptree tree;
  ASSERT_NO_THROW(tree = parse_xml(svg)) << svg;
  EXPECT_EQ(tree.get<std::string>("svg.<xmlattr>.xmlns"), "http://www.w3.org/2000/svg");
  EXPECT_EQ(series_names(tree), (std::multiset<std::string>{"QPS", "P50 ms", "P99 ms"}));
  EXPECT_NE(svg.find("ragd &lt;standard&gt; &amp; more"), std::string::npos);
}

TEST(SvgChart, AGapInASeriesSplitsItsLine) {
  ChartPanel p;
  p.x = {1, 2, 3, 4};
  p.series = {{"a", {1, NAN, 3, 4}, false, ""}};
  auto names = series_names(parse_xml(render_svg({p})));
  EXPECT_EQ(names.count("a"), 2u);
}

TEST(SvgChart, SoakChartHasOnePanelForMemoryAndOneForThroughput) {
  std::vector<SoakSample> samples;
  for (int i = 1; i <= 5; ++i) {
    SoakSample s;
    s.t_s = i;
    s.qps = 100 + i;
    s.processes = {{"ragd", 40.0 + i, 50, 1}, {"ragd-worker", 20.0, 10, 1}};
    s.queue_depth = i;
    s.cache_hit_ratio = 0.4;
    samples.push_back(s);
  }
  auto panels = soak_panels(samples);
  ASSERT_EQ(panels.size(), 2u);
  auto names = series_names(parse_xml(render_svg(panels)));
  EXPECT_EQ(names, (std::multiset<std::string>{"RSS ragd", "RSS ragd-worker", "queue depth", "QPS", "cache hit %"}));
}

TEST(NiceTicks, CoverTheRangeWithRoundSteps) {
  auto t = nice_ticks(0, 4100);
  EXPECT_EQ(t.front(), 0);
  EXPECT_GE(t.back(), 4100);
  EXPECT_EQ(t[1] - t[0], 1000);
  auto small = nice_ticks(0, 0.7);
  EXPECT_NEAR(small[1] - small[0], 0.2, 1e-12);
}
