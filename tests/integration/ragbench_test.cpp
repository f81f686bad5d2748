// ragbench against a real stack (redis-server, ragd, a worker and the fake LLM on
// loopback): its report carries ragd's own stage timings for the step, read from /metrics
// before and after it, and leaves them out when told not to read /metrics.
#include "stack.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace ragd::test;

namespace {

int run(const std::string& cmd, std::string& output) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

}  // namespace

TEST(Ragbench, ReportsRagdsOverheadPerComputedAnswerFromItsMetrics) {
  FakeLlm llm({"--latency-ms", "20"});
  StackOptions opts;
  opts.worker_env = {{"RAGD_LLM_BASE_URL", llm.base_url()}, {"RAGD_LLM_MODEL", "fake-model"}};
  Stack stack(opts);
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());

  const std::string json_path = stack.dir() + "/bench.json";
  // New questions only: every answer is computed, so every one is an overhead observation.
  const std::string base = bin_path("ragbench") + " --url http://127.0.0.1:" + std::to_string(stack.port()) +
                           " --scenarios " + source_path("bench/scenarios/standard.json") +
                           " --steps 4 --step-seconds 20 --warmup-seconds 0 --max-requests 40 --repeat-fraction 0" +
                           " --model-latency-ms 20";
  std::string out;
  ASSERT_EQ(run(base + " --json " + json_path, out), 0) << out;
  EXPECT_NE(out.find("ovh P50 | ovh P99"), std::string::npos) << out;
  EXPECT_NE(out.find("ragd overhead per computed answer (40)"), std::string::npos) << out;

  auto j = read_json(json_path);
  ASSERT_TRUE(j.is_object()) << out;
  const auto& step = j["steps"][0];
  ASSERT_EQ(step["total"]["ok"], 40) << out;
  const auto& st = step["ragd_stages"];
  ASSERT_TRUE(st.is_object()) << step.dump(2);
  EXPECT_EQ(st["computed"], 40);
  const double mean = st["overhead_mean_ms"].get<double>();
  EXPECT_GT(mean, 0.0);
  // The overhead is what ragd adds to the model's time, so a whole request takes at least
  // the model's 20 ms plus it.
  EXPECT_LT(mean, step["total"]["mean_ms"].get<double>() - 19.0) << step.dump(2);
  EXPECT_GE(st["stage_mean_ms"]["llm"].get<double>(), 20.0);
  EXPECT_GT(st["stage_mean_ms"]["queue_wait"].get<double>(), 0.0);
  const double within_5 = st["overhead_within_5ms"].get<double>();
  EXPECT_GE(within_5, st["overhead_within_1ms"].get<double>());
  EXPECT_LE(within_5, 1.0);
  EXPECT_LE(st["overhead_p50_ms"].get<double>(), st["overhead_p99_ms"].get<double>());

  // Told not to read /metrics, the step has no stage timings and the table no columns.
  std::string quiet;
  ASSERT_EQ(run(base + " --metrics-url none --json " + json_path, quiet), 0) << quiet;
  EXPECT_EQ(quiet.find("ovh P50"), std::string::npos) << quiet;
  EXPECT_TRUE(read_json(json_path)["steps"][0]["ragd_stages"].is_null());
}

TEST(Ragbench, StreamModeReportsTheTimeToTheFirstPiece) {
  // The model starts answering after 30 ms and then writes a word every 5 ms.
  FakeLlm llm({"--first-token-ms", "30", "--inter-token-ms", "5", "--answer-words", "30"});
  StackOptions opts;
  opts.worker_env = {{"RAGD_LLM_BASE_URL", llm.base_url()}};
  Stack stack(opts);
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());

  const std::string json_path = stack.dir() + "/bench.json";
  const std::string cmd = bin_path("ragbench") + " --url http://127.0.0.1:" + std::to_string(stack.port()) +
                          " --scenarios " + source_path("bench/scenarios/standard.json") +
                          " --steps 4 --step-seconds 20 --warmup-seconds 0 --max-requests 24 --repeat-fraction 0" +
                          " --stream --json " + json_path;
  std::string out;
  ASSERT_EQ(run(cmd, out), 0) << out;
  EXPECT_NE(out.find("TTFT P50 | TTFT P99"), std::string::npos) << out;
  auto j = read_json(json_path);
  ASSERT_TRUE(j.is_object()) << out;
  const auto& total = j["steps"][0]["total"];
  ASSERT_EQ(total["ok"], 24) << out;
  EXPECT_EQ(total["cache"]["miss"], 24) << total.dump(2);
  const double ttft = total["first_token"]["p50_ms"].get<double>();
  // At least the model's own first-token delay, and well before the whole answer (30 words
  // 5 ms apart after it).
  EXPECT_GE(ttft, 30.0) << total.dump(2);
  EXPECT_LT(ttft, total["p50_ms"].get<double>() - 100.0) << total.dump(2);
}
