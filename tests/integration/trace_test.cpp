// One trace id per request, across processes: the gateway continues a client's W3C
// traceparent (or starts a trace when it is absent or malformed), answers with it, and the
// gateway's and the worker's log lines of that request carry its trace id (text and JSON).
#include "stack.hpp"

#include "ragd/core/trace.hpp"

#include <fstream>

using namespace ragd::test;
using nlohmann::json;

namespace {

constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kClientParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// A worker writing JSON lines, so the two processes cover both log formats.
StackOptions json_worker(const TempDir& dir) {
  const std::string path = dir.path() + "/worker.json";
  std::ofstream(path) << R"({"log": {"level": "info", "json": true}})";
  StackOptions opts;
  opts.worker_args = {"--config", path};
  return opts;
}

void ingest(Stack& stack) {
  auto r = stack.post("/v1/documents",
                      {{"documents", json::array({{{"id", "sourdough"},
                                                   {"text", "Bake the sourdough loaf for twenty minutes."}}})}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(stack.wait_ready());
}

// The worker's JSON line for a job with this trace id (null until it is flushed).
json worker_line(Stack& stack, const std::string& trace_id) {
  std::istringstream lines(stack.worker(0).log());
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("trace_id", "") == trace_id &&
        j.value("msg", "").find("outcome=answered") != std::string::npos) {
      return j;
    }
  }
  return nullptr;
}

}  // namespace

TEST(Trace, AClientTraceparentIsContinuedAnsweredAndLoggedByGatewayAndWorker) {
  TempDir dir;
  Stack stack(json_worker(dir));
  ingest(stack);

  auto r = stack.post("/query", {{"query", "How long do I bake the sourdough loaf?"}},
                      {{"traceparent", kClientParent}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-trace-id"], kTraceId);
  auto answered = ragd::parse_traceparent(r.headers["traceparent"]);
  ASSERT_TRUE(answered) << r.headers["traceparent"];
  EXPECT_EQ(answered->trace_id, kTraceId);
  EXPECT_NE(answered->span_id, "00f067aa0ba902b7");  // the gateway's own span
  EXPECT_EQ(answered->flags, 1);
  const std::string request_id = json::parse(r.body)["request_id"];

  // Logs are flushed once a second: poll.
  const std::string gateway_line = "req_id=" + request_id + " method=POST route=/query status=200";
  ASSERT_TRUE(wait_until([&] {
    const std::string log = stack.gateway().log();
    const auto at = log.find(gateway_line);
    return at != std::string::npos && log.find(std::string("trace_id=") + kTraceId, at) < log.find('\n', at);
  }, std::chrono::seconds(5))) << stack.gateway().log();
  json line;
  ASSERT_TRUE(wait_until([&] { return !(line = worker_line(stack, kTraceId)).is_null(); }, std::chrono::seconds(5)))
      << stack.worker(0).log();
  EXPECT_NE(line["msg"].get<std::string>().find("req_id=" + request_id), std::string::npos) << line.dump();
}

TEST(Trace, AMalformedTraceparentIsReplacedAndNeverPassedOn) {
  TempDir dir;
  Stack stack(json_worker(dir));
  ingest(stack);

  // Upper-case hex breaks the spec; the gateway must start a trace of its own.
  const std::string bad = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01";
  auto r = stack.post("/query", {{"query", "How long do I bake the sourdough loaf?"}}, {{"traceparent", bad}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto answered = ragd::parse_traceparent(r.headers["traceparent"]);
  ASSERT_TRUE(answered) << r.headers["traceparent"];
  EXPECT_NE(answered->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(answered->flags, 0);
  EXPECT_EQ(r.headers["x-trace-id"], answered->trace_id);
  ASSERT_TRUE(wait_until([&] { return !worker_line(stack, answered->trace_id).is_null(); }, std::chrono::seconds(5)))
      << stack.worker(0).log();
  EXPECT_EQ(stack.gateway().log().find("4BF92F"), std::string::npos);
  EXPECT_EQ(stack.worker(0).log().find("4BF92F"), std::string::npos);

  // Without the header, every request starts a trace of its own.
  auto a = stack.get("/healthz");
  auto b = stack.get("/healthz");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["x-trace-id"].size(), 32u);
  EXPECT_NE(a.headers["x-trace-id"], b.headers["x-trace-id"]);
}

TEST(Trace, AChatCompletionCarriesTheClientsTraceToTheWorker) {
  TempDir dir;
  Stack stack(json_worker(dir));
  ingest(stack);

  auto r = stack.post("/v1/chat/completions",
                      {{"model", "ragd"},
                       {"messages", json::array({{{"role", "user"}, {"content", "How long do I bake the sourdough loaf?"}}})}},
                      {{"traceparent", kClientParent}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-trace-id"], kTraceId);
  ASSERT_TRUE(wait_until([&] { return !worker_line(stack, kTraceId).is_null(); }, std::chrono::seconds(5)))
      << stack.worker(0).log();
}
