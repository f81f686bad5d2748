#include "ragd/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace ragd::metrics;

TEST(Metrics, RendersCountersWithLabelsInPrometheusFormat) {
  Registry r;
  auto& requests = r.counter("ragd_requests_total", "Requests.", {"route", "status"});
  requests.with({"/query", "200"}).inc();
  requests.with({"/query", "200"}).inc(2);
  requests.with({"/healthz", "200"}).inc();
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE ragd_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("ragd_requests_total{route=\"/query\",status=\"200\"} 3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ragd_requests_total{route=\"/healthz\",status=\"200\"} 1"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulativeAndCountsAdd) {
  Registry r;
  auto& h = r.histogram("lat_ms", "Latency.", {}, {1, 10, 100}).with();
  for (double v : {0.5, 5.0, 5.0, 50.0, 500.0}) h.observe(v);
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(s.sum, 560.5);
  auto text = r.render();
  EXPECT_NE(text.find("lat_ms_bucket{le=\"+Inf\"} 5"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_ms_count 5"), std::string::npos);
}

TEST(Metrics, QuantileInterpolatesInsideTheBucket) {
  Histogram h({10, 20});
  for (int i = 0; i < 100; ++i) h.observe(15);
  auto q = h.snapshot().quantile(0.5);
  EXPECT_GT(q, 10);
  EXPECT_LE(q, 20);
}

TEST(Metrics, CountsFromManyThreadsAreNotLost) {
  Registry r;
  auto& c = r.counter("c", "c").with();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back([&] { for (int i = 0; i < 10000; ++i) c.inc(); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), 40000u);
}

TEST(Metrics, CollectorsRunBeforeRender) {
  Registry r;
  auto& g = r.gauge("depth", "Queue depth.").with();
  r.on_collect([&] { g.set(42); });
  EXPECT_NE(r.render().find("depth 42"), std::string::npos);
}

TEST(Metrics, RegisteringANameTwiceReturnsTheSameFamily) {
  Registry r;
  auto& a = r.counter("hits_total", "Hits.", {"tier"});
  auto& b = r.counter("hits_total", "", {"tier"});
  EXPECT_EQ(&a, &b);
  a.with({"l1"}).inc();
  b.with({"l1"}).inc();
  auto text = r.render();
  EXPECT_NE(text.find("hits_total{tier=\"l1\"} 2"), std::string::npos) << text;
  EXPECT_EQ(text.find("# TYPE hits_total"), text.rfind("# TYPE hits_total"));
}
