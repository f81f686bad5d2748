// ragd-worker --metrics-listen: /metrics after real jobs (outcomes, model time, tokens, in
// flight, queue pickup), /healthz, and /readyz following the model server's reachability.
#include "stack.hpp"

#include <sstream>

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The value of the first series line that starts with `series` ("name{labels}"), or -1.
double series_value(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// The port the worker logged that it serves its probes on, or 0.
int logged_metrics_port(Process& worker) {
  const auto log = worker.log();
  const auto at = log.find("metrics_port=");
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + 13);
}

}  // namespace

TEST(WorkerMetrics, ScrapedAfterRealJobsTheyCountOutcomesModelTimeTokensAndPickup) {
  FakeLlm llm({"--latency-ms", "50"});
  StackOptions opts;
  opts.worker_args = {"--llm-base-url", llm.base_url(), "--metrics-listen", "127.0.0.1:0"};
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());
  int port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = logged_metrics_port(stack.worker(0))) > 0; }, 10s));
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(port, "GET", "/readyz").status, 200);

  for (int i = 0; i < 3; ++i) {
    auto r = stack.post("/query", {{"query", "what do bees make? " + std::to_string(i)}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto scrape = http_request(port, "GET", "/metrics");
  ASSERT_EQ(scrape.status, 200);
  const auto& m = scrape.body;
  EXPECT_EQ(series_value(m, "ragd_worker_jobs_total{outcome=\"answered\"}"), 3) << m;
  EXPECT_EQ(series_value(m, "ragd_worker_jobs_total{outcome=\"expired\"}"), 0);
  EXPECT_EQ(series_value(m, "ragd_worker_jobs_total{outcome=\"dead_lettered\"}"), 0);
  EXPECT_EQ(series_value(m, "ragd_worker_model_duration_ms_count"), 3);
  EXPECT_GE(series_value(m, "ragd_worker_model_duration_ms_sum"), 3 * 50.0) << "the model takes 50 ms a call";
  EXPECT_EQ(series_value(m, "ragd_worker_queue_pickup_ms_count"), 3);
  EXPECT_EQ(series_value(m, "ragd_worker_jobs_in_flight"), 0);
  const auto prompt_at = m.find("ragd_worker_tokens_total{kind=\"prompt\",model=\"");
  const auto completion_at = m.find("ragd_worker_tokens_total{kind=\"completion\",model=\"");
  ASSERT_NE(prompt_at, std::string::npos) << m;
  ASSERT_NE(completion_at, std::string::npos) << m;
  EXPECT_GT(std::stod(m.substr(m.find("} ", prompt_at) + 2)), 0);
  EXPECT_GT(std::stod(m.substr(m.find("} ", completion_at) + 2)), 0);

  // The model server goes away: the worker is no longer ready, and says why.
  llm.stop();
  HttpResult ready;
  EXPECT_TRUE(wait_until([&] { return (ready = http_request(port, "GET", "/readyz")).status == 503; }, 10s));
  EXPECT_NE(ready.body.find("model server"), std::string::npos) << ready.body;
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
}
