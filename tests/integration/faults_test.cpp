// Fault tests with real processes (redis-server, ragd, ragd-worker, fake-llm) on loopback:
// workers killed or stopped under load, Redis restarted, the LLM failing, a poison job,
// overload, client cancellations, drains on SIGTERM and what a draining gateway answers.
// Each asserts what must never happen (a lost request, an answer delivered to the wrong
// client, a crash, a hang past the deadline or the grace period) and prints its figures
// ("[faults] ..." lines); a timing is asserted only where the test's name promises one,
// against a bound derived from the configuration (a deadline, a grace period), never
// against a speed.
//
// No documents are ingested, so the prompt's last user message is short and the fake LLM's
// answer ("fake answer to: ... Question: <q>") ends with the question that was asked: an
// answer that reached the wrong client is detected by comparing the two.
#include "stack.hpp"

#include "ragd/core/ids.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string question(const std::string& tag, int i) {
  return tag + "-" + std::to_string(i) + "-" + ragd::random_id().substr(0, 8);
}

HttpResult ask(int port, const std::string& q, std::chrono::milliseconds timeout = 60s) {
  return http_request(port, "POST", "/query", json{{"query", q}}.dump(),
                      {{"Content-Type", "application/json"}}, timeout);
}

// True when the answer is the fake LLM's answer to `q` (and to nothing else).
bool answers(const HttpResult& r, const std::string& q) {
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("answer") || !j["answer"].is_string()) return false;
  return j["answer"].get<std::string>().ends_with("Question: " + q);
}

std::string error_code(const HttpResult& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error")) return "";
  return j["error"].value("code", "");
}

// A ragd-worker config file in `dir` (the Stack passes --redis and --concurrency itself);
// `top` is merged over its top level (e.g. shutdown_grace_ms).
std::string worker_config(const TempDir& dir, const json& queue, const json& llm, const json& top = json::object()) {
  std::string path = dir.path() + "/worker.json";
  json cfg = {{"queue", {{"heartbeat_interval_ms", 200}, {"worker_stale_ms", 1500}}}, {"llm", llm}};
  cfg["queue"].merge_patch(queue);
  cfg.merge_patch(top);
  std::ofstream(path) << cfg.dump(2);
  return path;
}

// A client that sends a query and hangs up after `after`, without reading the answer.
void abandon(int port, const std::string& q, std::chrono::milliseconds after) {
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket sock(io);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    std::string body = json{{"query", q}}.dump();
    std::string req = "POST /query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    boost::asio::write(sock, boost::asio::buffer(req));
    std::this_thread::sleep_for(after);
    boost::system::error_code ec;
    sock.close(ec);
  } catch (const std::exception&) {
  }
}

long vm_rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Counts of one load run.
struct Tally {
  std::atomic<int> sent{0}, answered{0}, mixed_up{0}, failed{0}, no_response{0};
  std::mutex m;
  std::map<int, int> by_status;

  void record(const HttpResult& r, const std::string& q) {
    ++sent;
    {
      std::lock_guard lock(m);
      ++by_status[r.status];
    }
    if (r.status == 0) {
      ++no_response;
    } else if (r.status == 200) {
      if (answers(r, q)) {
        ++answered;
      } else {
        ++mixed_up;
      }
    } else {
      ++failed;
    }
  }

  std::string statuses() {
    std::lock_guard lock(m);
    std::string s;
    for (auto [status, n] : by_status) s += " " + std::to_string(status) + ":" + std::to_string(n);
    return s;
  }
};

// Sends `n` distinct questions from `n` threads at once.
void burst(int port, const std::string& tag, int n, Tally& tally, std::chrono::milliseconds timeout = 60s) {
  std::vector<std::thread> clients;
  clients.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    clients.emplace_back([&, i] {
      auto q = question(tag, i);
      tally.record(ask(port, q, timeout), q);
    });
  }
  for (auto& t : clients) t.join();
}

StackOptions stack_options(const TempDir& dir, const json& worker_queue, const json& llm,
                           const json& gateway = json::object(), const json& worker_top = json::object()) {
  StackOptions opts;
  opts.gateway_config = gateway;
  opts.worker_args = {"--config", worker_config(dir, worker_queue, llm, worker_top)};
  return opts;
}

// The value of one series in a Prometheus exposition, e.g. "ragd_queries_in_flight".
std::optional<double> metric(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace

TEST(Faults, KillNineOneOfThreeWorkersWithJobsInFlightLosesNothing) {
  FakeLlm llm({"--latency-ms", "600"});
  TempDir dir;
  auto opts = stack_options(dir, {{"reclaim_idle_ms", 1500}}, {{"base_url", llm.base_url()}});
  opts.worker_concurrency = 16;
  Stack stack(opts);
  stack.start_worker();
  stack.start_worker();
  ASSERT_TRUE(stack.wait_ready());
  ASSERT_TRUE(wait_until([&] { return stack.redis().cli({"ZCARD", "ragd:workers"}) == "3"; }, 10s));

  Tally tally;
  const auto t0 = Clock::now();
  std::thread load([&] { burst(stack.port(), "kill9", 100, tally); });
  // Kill one worker once the LLM is busy with jobs, some of them on that worker.
  ASSERT_TRUE(wait_until([&] { return llm.chat_calls() >= 30; }, 20s));
  stack.worker(0).signal(SIGKILL);
  const double killed_at = ms_since(t0);
  load.join();
  const double took = ms_since(t0);

  std::cout << "[faults] kill -9 1 of 3 workers: sent=" << tally.sent << " answered=" << tally.answered
            << " lost=" << (tally.sent - tally.answered - tally.mixed_up) << " mixed_up=" << tally.mixed_up
            << " duplicated_llm_calls=" << (llm.chat_calls() - 100) << " killed_at_ms=" << killed_at
            << " all_answered_ms=" << took << " statuses:" << tally.statuses() << "\n";
  EXPECT_EQ(tally.answered.load(), 100) << tally.statuses();
  EXPECT_EQ(tally.mixed_up.load(), 0);
  EXPECT_FALSE(stack.worker(0).alive());
  EXPECT_TRUE(stack.worker(1).alive());
  EXPECT_TRUE(stack.worker(2).alive());
}

TEST(Faults, SigtermWorkerUnderLoadLosesNothingAndExitsZeroWithinItsGrace) {
  FakeLlm llm({"--latency-ms", "300"});
  TempDir dir;
  constexpr int kGraceMs = 5000;
  auto opts = stack_options(dir, {{"reclaim_idle_ms", 1500}}, {{"base_url", llm.base_url()}}, json::object(),
                            {{"shutdown_grace_ms", kGraceMs}});
  opts.worker_concurrency = 16;
  Stack stack(opts);
  stack.start_worker();
  ASSERT_TRUE(stack.wait_ready());
  ASSERT_TRUE(wait_until([&] { return stack.redis().cli({"ZCARD", "ragd:workers"}) == "2"; }, 10s));

  Tally tally;
  std::thread load([&] { burst(stack.port(), "sigterm", 100, tally); });
  ASSERT_TRUE(wait_until([&] { return llm.chat_calls() >= 10; }, 20s));
  const auto t_term = Clock::now();
  stack.worker(0).signal(SIGTERM);
  auto status = stack.worker(0).wait(std::chrono::milliseconds(kGraceMs) + 10s);
  const double exit_ms = ms_since(t_term);
  load.join();

  std::cout << "[faults] SIGTERM 1 of 2 workers: sent=" << tally.sent << " answered=" << tally.answered
            << " lost=" << (tally.sent - tally.answered - tally.mixed_up) << " mixed_up=" << tally.mixed_up
            << " exit_status=" << (status ? *status : -1) << " exit_ms=" << exit_ms
            << " statuses:" << tally.statuses() << "\n";
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_LT(exit_ms, kGraceMs) << "its jobs take 300 ms; the worker must not wait out its grace";
  EXPECT_EQ(tally.answered.load(), 100) << tally.statuses();
  EXPECT_EQ(tally.mixed_up.load(), 0);
}

TEST(Faults, SigtermWorkerWhoseJobsOutlastItsGraceExitsAtTheGraceAndOthersAnswerThem) {
  // Calls take 4 s; the worker's grace is 1 s. It must exit 0 about 1 s after SIGTERM,
  // leaving its jobs pending, and the other worker takes them over (reclaim_idle_ms).
  FakeLlm llm({"--latency-ms", "4000"});
  TempDir dir;
  constexpr int kGraceMs = 1000;
  auto opts = stack_options(dir, {{"reclaim_idle_ms", 1500}}, {{"base_url", llm.base_url()}},
                            {{"server", {{"request_timeout_ms", 30000}}}}, {{"shutdown_grace_ms", kGraceMs}});
  opts.worker_concurrency = 8;
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());
  Tally tally;
  std::thread load([&] { burst(stack.port(), "grace", 4, tally); });
  ASSERT_TRUE(wait_until([&] { return llm.chat_calls() >= 4; }, 20s));  // all four at the model
  stack.start_worker();
  ASSERT_TRUE(wait_until([&] { return stack.redis().cli({"ZCARD", "ragd:workers"}) == "2"; }, 10s));
  const auto t_term = Clock::now();
  stack.worker(0).signal(SIGTERM);
  auto status = stack.worker(0).wait(20s);
  const double exit_ms = ms_since(t_term);
  load.join();
  std::cout << "[faults] SIGTERM a worker past its grace: exit_ms=" << exit_ms << " answered=" << tally.answered
            << "/4 model_calls=" << llm.chat_calls() << " statuses:" << tally.statuses() << "\n";
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_GE(exit_ms, kGraceMs - 100.0) << "it left before its grace was over";
  EXPECT_LT(exit_ms, kGraceMs + 2000.0) << "it waited for its jobs instead of its grace";
  EXPECT_EQ(tally.answered.load(), 4) << tally.statuses();
  EXPECT_EQ(tally.mixed_up.load(), 0);
}

TEST(Faults, SigtermGatewayUnderLoadAnswersEveryRequestSavesTheSnapshotAndExitsWithinItsGrace) {
  // The embedding service takes 2 s per call, so an ingest and 100 queries are surely in
  // flight (counted by the gateway, and at the embedder) when SIGTERM arrives.
  FakeLlm embedder({"--latency-ms", "2000"});
  FakeLlm llm({"--latency-ms", "300"});
  TempDir dir;
  const std::string snapshot = dir.path() + "/index.snap";
  constexpr int kGraceMs = 15000;
  StackOptions opts;
  opts.gateway_env = {{"RAGD_EMBED_BASE_URL", embedder.base_url()}, {"RAGD_EMBED_DIM", "384"},
                      {"RAGD_EMBED_MODEL", "fake-embed"}};
  opts.gateway_config = {{"server", {{"shutdown_grace_ms", kGraceMs}, {"request_timeout_ms", 30000}}},
                         {"retrieval",
                          {{"snapshot_path", snapshot}, {"timeout_ms", 10000}, {"embedder", {{"max_inflight", 128}}}}},
                         {"cache", {{"enabled", false}}}};
  opts.worker_env = {{"RAGD_LLM_BASE_URL", llm.base_url()}};
  Stack stack(opts);
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());

  const auto before = embedder.stat("embedding_calls");
  HttpResult ingest;
  std::thread ingester([&] {
    json doc = {{"documents", {{{"id", "drain.md"}, {"title", "drain"}, {"text", "Draining keeps every request."}}}}};
    ingest = http_request(stack.port(), "POST", "/v1/documents", doc.dump(), {}, 60s);
  });
  ASSERT_TRUE(wait_until([&] { return embedder.stat("embedding_calls") > before; }, 20s));
  Tally tally;
  std::thread load([&] { burst(stack.port(), "drain", 100, tally); });
  ASSERT_TRUE(wait_until([&] { return metric(stack.get("/metrics").body, "ragd_queries_in_flight") == 100.0; }, 20s));

  const auto t_term = Clock::now();
  stack.gateway().signal(SIGTERM);
  auto status = stack.gateway().wait(std::chrono::milliseconds(kGraceMs) + 10s);
  const double exit_ms = ms_since(t_term);
  load.join();
  ingester.join();
  std::cout << "[faults] SIGTERM the gateway under load: exit_ms=" << exit_ms << " answered=" << tally.answered
            << "/100 ingest=" << ingest.status << " statuses:" << tally.statuses() << "\n";
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_LT(exit_ms, kGraceMs);
  // With documents in the prompt the fake LLM's echo is cut before the question, so an
  // answer is not matched to its asker here (the tests without documents do that).
  EXPECT_EQ(tally.statuses(), " 200:100");
  EXPECT_EQ(ingest.status, 200) << ingest.body;
  const std::string log = stack.gateway().log();
  EXPECT_EQ(log.find("snapshot not saved"), std::string::npos) << log;

  // The snapshot it saved on the way out holds the document whose ingest was in flight.
  StackOptions again_opts = opts;
  again_opts.start_worker = false;
  Stack again(again_opts);
  auto doc = again.get("/v1/documents/drain.md");
  EXPECT_EQ(doc.status, 200) << doc.body;
}

TEST(Faults, SigtermGatewayAnswersReadyz503AndRefusesNewQueriesWhileItsQueriesFinish) {
  // The model takes 3 s a call, so the gateway's queries are surely in flight while the
  // test, after SIGTERM, asks it for /readyz, /healthz, a new query and /metrics.
  FakeLlm llm({"--latency-ms", "3000"});
  TempDir dir;
  constexpr int kGraceMs = 15000;
  constexpr int kQueries = 20;
  auto opts = stack_options(dir, json::object(), {{"base_url", llm.base_url()}},
                            {{"server", {{"shutdown_grace_ms", kGraceMs}, {"request_timeout_ms", 30000}}},
                             {"cache", {{"enabled", false}}}});
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());

  Tally tally;
  std::jthread load([&] { burst(stack.port(), "draining", kQueries, tally); });
  ASSERT_TRUE(wait_until([&] { return llm.chat_calls() == kQueries; }, 20s));

  const auto t_term = Clock::now();
  stack.gateway().signal(SIGTERM);
  // 200 until the gateway has taken the signal in.
  HttpResult ready;
  ASSERT_TRUE(wait_until([&] { return (ready = stack.get("/readyz")).status != 200; }, 5s));
  EXPECT_EQ(ready.status, 503) << ready.body;
  const auto ready_body = json::parse(ready.body, nullptr, false);
  const auto reasons = ready_body.is_object() ? ready_body.value("reasons", json::array()) : json::array();
  EXPECT_TRUE(std::find(reasons.begin(), reasons.end(), "shutting down") != reasons.end()) << ready.body;
  EXPECT_EQ(stack.get("/healthz").status, 200);
  auto refused = stack.post("/query", {{"query", "asked during the drain"}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.headers["retry-after"], "1");
  EXPECT_EQ(refused.headers["connection"], "close");
  EXPECT_EQ(error_code(refused), "unavailable") << refused.body;
  // All of the above was answered while every query was still in flight, and the refused
  // query is not one of them.
  auto metrics = stack.get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metric(metrics.body, "ragd_queries_in_flight"), std::optional<double>(kQueries));
  EXPECT_EQ(tally.sent.load(), 0);

  auto status = stack.gateway().wait(std::chrono::milliseconds(kGraceMs) + 10s);
  const double exit_ms = ms_since(t_term);
  load.join();
  std::cout << "[faults] SIGTERM the gateway, probed while draining: exit_ms=" << exit_ms << " answered="
            << tally.answered << "/" << kQueries << " statuses:" << tally.statuses() << "\n";
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_LT(exit_ms, kGraceMs) << "the drain ends when its queries do";
  EXPECT_EQ(tally.answered.load(), kQueries) << tally.statuses();
  EXPECT_EQ(tally.mixed_up.load(), 0);
  EXPECT_EQ(llm.chat_calls(), kQueries) << "the refused query never reaches the model";
}

TEST(Faults, RedisRestartUnderLoadFailsFastThenRecoversWithoutRestarts) {
  FakeLlm llm({"--latency-ms", "50"});
  TempDir dir;
  auto opts = stack_options(dir, {{"reclaim_idle_ms", 2000}}, {{"base_url", llm.base_url()}},
                            {{"server", {{"request_timeout_ms", 5000}}}});
  opts.redis_args = {"--appendonly", "yes"};
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());

  Tally before;
  burst(stack.port(), "before", 20, before);
  EXPECT_EQ(before.answered.load(), 20) << before.statuses();

  // Background load across the restart: every request ends within its deadline.
  std::atomic<bool> loading{true};
  Tally during;
  std::atomic<double> slowest_ms{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      for (int i = 0; loading; ++i) {
        auto q = question("load" + std::to_string(t), i);
        auto t0 = Clock::now();
        during.record(ask(stack.port(), q, 15s), q);
        double ms = ms_since(t0);
        if (ms > slowest_ms) slowest_ms = ms;
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  std::this_thread::sleep_for(500ms);
  stack.redis().stop();
  std::this_thread::sleep_for(300ms);
  // While Redis is down: 503 with Retry-After, at once.
  int probes = 0, fast_503 = 0;
  double slowest_probe_ms = 0;
  for (int i = 0; i < 10; ++i) {
    auto t0 = Clock::now();
    auto r = ask(stack.port(), question("down", i), 10s);
    double ms = ms_since(t0);
    slowest_probe_ms = std::max(slowest_probe_ms, ms);
    ++probes;
    if (r.status == 503 && r.headers.count("retry-after")) ++fast_503;
    EXPECT_EQ(r.status, 503) << r.body;
    std::this_thread::sleep_for(100ms);
  }
  stack.redis().start();
  const auto t_up = Clock::now();
  bool recovered = wait_until([&] { return ask(stack.port(), question("recover", 0), 10s).status == 200; }, 30s);
  const double recover_ms = ms_since(t_up);
  ASSERT_TRUE(recovered);
  loading = false;
  for (auto& t : load) t.join();

  Tally after;
  burst(stack.port(), "after", 50, after);
  std::cout << "[faults] redis restart: before answered=" << before.answered << "/20; outage probes="
            << probes << " fast_503=" << fast_503 << " slowest_probe_ms=" << slowest_probe_ms
            << "; during load sent=" << during.sent << " answered=" << during.answered
            << " failed=" << during.failed << " no_response=" << during.no_response
            << " mixed_up=" << during.mixed_up << " slowest_ms=" << slowest_ms.load()
            << " statuses:" << during.statuses() << "; time_to_recover_ms=" << recover_ms
            << "; after answered=" << after.answered << "/50\n";
  EXPECT_EQ(fast_503, probes);
  // Fast: far below the 5 s request deadline, which a gateway waiting on Redis would reach.
  EXPECT_LT(slowest_probe_ms, 2000.0);
  EXPECT_EQ(after.answered.load(), 50) << after.statuses();
  EXPECT_EQ(during.mixed_up.load(), 0);
  EXPECT_EQ(during.no_response.load(), 0);  // the gateway never stopped answering
  EXPECT_LT(slowest_ms.load(), 5000.0 + 2000.0);  // nothing hangs past the deadline
  EXPECT_TRUE(stack.gateway().alive());
  EXPECT_TRUE(stack.worker(0).alive());
}

TEST(Faults, LlmAnswering429IsRetriedAfterItsRetryAfter) {
  FakeLlm llm({"--fail-first", "2", "--fail-first-status", "429"});
  TempDir dir;
  Stack stack(stack_options(dir, json::object(), {{"base_url", llm.base_url()}, {"max_attempts", 3}}));
  ASSERT_TRUE(stack.wait_ready());
  auto q = question("throttled", 0);
  auto t0 = Clock::now();
  auto r = ask(stack.port(), q);
  const double ms = ms_since(t0);
  std::cout << "[faults] LLM 429 x2 then ok: status=" << r.status << " llm_calls=" << llm.chat_calls()
            << " ms=" << ms << "\n";
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(answers(r, q)) << r.body;
  EXPECT_EQ(llm.chat_calls(), 3);
  EXPECT_GE(ms, 1500.0);  // two waits of Retry-After: 1 s (behaviour: the header is honoured)
}

TEST(Faults, LlmFailingWith500FailsClearlyAfterItsRetriesAndIsDeadLettered) {
  FakeLlm llm({"--error-rate", "1"});
  TempDir dir;
  Stack stack(stack_options(dir, json::object(), {{"base_url", llm.base_url()}, {"max_attempts", 3}}));
  ASSERT_TRUE(stack.wait_ready());
  auto t0 = Clock::now();
  auto r = ask(stack.port(), question("broken", 0));
  const double ms = ms_since(t0);
  auto dead = stack.redis().cli({"XLEN", "ragd:jobs:dead"});
  std::cout << "[faults] LLM 500: status=" << r.status << " code=" << error_code(r)
            << " llm_calls=" << llm.chat_calls() << " dead_letters=" << dead << " ms=" << ms << "\n";
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(error_code(r), "upstream_error") << r.body;
  EXPECT_EQ(llm.chat_calls(), 3);
  EXPECT_EQ(dead, "1");
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs"}), "0");
}

TEST(Faults, AClientToldOfAFailingModelServerLearnsNeitherItsAddressNorItsWords) {
  FakeLlm llm({"--error-rate", "1"});  // every call: 500 {"error":{"message":"internal server error (injected)"}}
  TempDir dir;
  Stack stack(stack_options(dir, json::object(), {{"base_url", llm.base_url()}, {"max_attempts", 1}}));
  ASSERT_TRUE(stack.wait_ready());
  auto r = ask(stack.port(), question("located", 0));
  EXPECT_EQ(r.status, 502) << r.body;
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["message"], "the model call failed: LLM returned HTTP 500") << r.body;
  const std::string address = "127.0.0.1:" + std::to_string(llm.port());
  EXPECT_EQ(r.body.find(address), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("injected"), std::string::npos) << r.body;
  // The operator has both, in the worker's log line for the failed call.
  EXPECT_TRUE(wait_until([&] {
    const std::string log = stack.worker(0).log();
    const auto line = log.find("model call failed: LLM returned HTTP 500 [internal server error (injected)]");
    return line != std::string::npos;
  }, 5s)) << stack.worker(0).log().substr(0, 8000);

  // A model server that cannot be reached: 502 (the gateway's upstream failed), and again
  // no address in the body.
  llm.stop();
  auto down = ask(stack.port(), question("located", 1));
  EXPECT_EQ(down.status, 502) << down.body;
  EXPECT_EQ(down.body.find(address), std::string::npos) << down.body;
  EXPECT_NE(down.body.find("LLM: Couldn't connect to server"), std::string::npos) << down.body;
  EXPECT_TRUE(wait_until([&] { return stack.worker(0).log().find("POST " + llm.base_url()) != std::string::npos; }, 5s))
      << stack.worker(0).log().substr(0, 8000);
}

TEST(Faults, HangingLlmIsCutAtTheDeadline) {
  FakeLlm llm({"--hang-rate", "1"});
  TempDir dir;
  Stack stack(stack_options(dir, json::object(), {{"base_url", llm.base_url()}},
                            {{"server", {{"request_timeout_ms", 2000}}}}));
  ASSERT_TRUE(stack.wait_ready());
  auto t0 = Clock::now();
  auto r = ask(stack.port(), question("hang", 0));
  const double ms = ms_since(t0);
  std::cout << "[faults] LLM hangs: status=" << r.status << " code=" << error_code(r) << " ms=" << ms << "\n";
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(error_code(r), "deadline_exceeded");
  EXPECT_LT(ms, 2000.0 + 2000.0);
  // The worker is still healthy afterwards and its job was acknowledged.
  EXPECT_TRUE(wait_until([&] { return stack.redis().cli({"XLEN", "ragd:jobs"}) == "0"; }, 10s));
}

TEST(Faults, PoisonJobIsDeadLetteredAfterTheAttemptLimitWhileOthersFlow) {
  FakeLlm llm({"--latency-ms", "20"});
  TempDir dir;
  auto opts = stack_options(dir, {{"reclaim_idle_ms", 1000}, {"max_attempts", 3}}, {{"base_url", llm.base_url()}},
                            {{"server", {{"request_timeout_ms", 30000}}}});
  opts.worker_binary = "ragd-worker-failpoints";
  opts.worker_env = {{"RAGD_FAILPOINT_CRASH_ON_QUESTION", "POISON"}};
  opts.worker_concurrency = 8;
  Stack stack(opts);
  stack.start_worker();
  ASSERT_TRUE(stack.wait_ready());

  // Supervisor: like an orchestrator, restarts crashed workers (keeps two alive).
  std::atomic<bool> supervising{true};
  std::atomic<int> crashes{0};
  std::thread supervisor([&] {
    while (supervising) {
      int alive = 0;
      for (std::size_t i = 0; i < stack.worker_count(); ++i) alive += stack.worker(i).alive() ? 1 : 0;
      for (; alive < 2; ++alive) {
        ++crashes;
        stack.start_worker();
      }
      std::this_thread::sleep_for(50ms);
    }
  });

  HttpResult poison;
  auto t0 = Clock::now();
  std::thread poisoned([&] { poison = ask(stack.port(), "POISON " + question("poison", 0)); });
  Tally others;
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      for (int k = 0; k < 15; ++k) {
        auto q = question("other" + std::to_string(i), k);
        others.record(ask(stack.port(), q), q);
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  poisoned.join();
  const double poison_ms = ms_since(t0);
  for (auto& t : clients) t.join();
  supervising = false;
  supervisor.join();
  // The workers that died died by the failpoint's abort(), nothing else; the live ones are
  // stopped and checked for status 0 at teardown.
  int aborted = 0;
  for (std::size_t i = 0; i < stack.worker_count(); ++i) {
    if (stack.worker(i).alive()) continue;
    EXPECT_EQ(stack.worker(i).wait(0ms), 128 + SIGABRT) << stack.worker(i).log();
    ++aborted;
  }
  EXPECT_EQ(aborted, 3);

  auto reason = stack.redis().cli({"XRANGE", "ragd:jobs:dead", "-", "+"});
  std::cout << "[faults] poison job: status=" << poison.status << " code=" << error_code(poison)
            << " worker_crashes=" << crashes << " dead_letters=" << stack.redis().cli({"XLEN", "ragd:jobs:dead"})
            << " ms=" << poison_ms << "; others sent=" << others.sent << " answered=" << others.answered
            << " mixed_up=" << others.mixed_up << " statuses:" << others.statuses() << "\n";
  EXPECT_EQ(poison.status, 502) << poison.body;
  EXPECT_NE(poison.body.find("dead-letter"), std::string::npos) << poison.body;
  EXPECT_EQ(crashes.load(), 3);
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs:dead"}), "1");
  EXPECT_NE(reason.find("max_attempts is 3"), std::string::npos) << reason;
  EXPECT_EQ(others.answered.load(), 60) << others.statuses();
  EXPECT_EQ(others.mixed_up.load(), 0);
}

TEST(Faults, OverloadAtThreeTimesCapacityShedsQuicklyAndStaysBounded) {
  // Capacity: one worker with 8 slots at 200 ms a call, 40 answers/s; 120 clients at once.
  // The depth bound (16) caps the backlog; max_wait_ms sheds while the backlog stands, so
  // admitted queries wait about one call for a slot instead of the whole bound.
  FakeLlm llm({"--latency-ms", "200"});
  TempDir dir;
  auto opts = stack_options(dir, json::object(), {{"base_url", llm.base_url()}},
                            {{"server", {{"request_timeout_ms", 10000}, {"max_inflight", 40}}},
                             {"queue", {{"max_depth", 16}, {"max_wait_ms", 100}}}});
  opts.worker_concurrency = 8;
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());
  const long rss_before = vm_rss_kb(stack.gateway().pid());

  Tally tally;
  std::mutex m;
  std::vector<double> shed_ms, ok_ms, queue_wait_ms, server_ms;  // client-side; server-side of answers
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < 120; ++c) {
    clients.emplace_back([&, c] {
      while (ms_since(t0) < 4000) {
        auto q = question("load" + std::to_string(c), static_cast<int>(ms_since(t0)));
        auto s = Clock::now();
        auto r = ask(stack.port(), q, 15s);
        double ms = ms_since(s);
        tally.record(r, q);
        {
          std::lock_guard lock(m);
          (r.status == 200 ? ok_ms : shed_ms).push_back(ms);
          auto j = json::parse(r.body, nullptr, false);
          if (r.status == 200 && j.contains("timings_ms")) {
            queue_wait_ms.push_back(j["timings_ms"].value("queue_wait", 0.0));
            server_ms.push_back(j["timings_ms"].value("total", 0.0));
          }
        }
        if (r.status != 200) std::this_thread::sleep_for(50ms);  // a client backing off
      }
    });
  }
  for (auto& t : clients) t.join();
  const long rss_after = vm_rss_kb(stack.gateway().pid());
  auto pct = [](std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
  };
  std::cout << "[faults] overload 3x: sent=" << tally.sent << " answered=" << tally.answered
            << " shed=" << tally.failed << " mixed_up=" << tally.mixed_up << " statuses:" << tally.statuses()
            << " shed_p50_ms=" << pct(shed_ms, 0.5) << " shed_p99_ms=" << pct(shed_ms, 0.99)
            << " ok_p50_ms=" << pct(ok_ms, 0.5) << " ok_p99_ms=" << pct(ok_ms, 0.99)
            << " ok_server_p50_ms=" << pct(server_ms, 0.5) << " ok_queue_wait_p50_ms=" << pct(queue_wait_ms, 0.5)
            << " ok_queue_wait_p90_ms=" << pct(queue_wait_ms, 0.9) << " rss_kb_before=" << rss_before
            << " rss_kb_after=" << rss_after << "\n";
  EXPECT_GT(tally.failed.load(), 0);
  EXPECT_GT(tally.answered.load(), 0);
  EXPECT_EQ(tally.mixed_up.load(), 0);
  EXPECT_EQ(tally.no_response.load(), 0);
  // Quickly: a shed query is refused within a fifth of its 10 s deadline, not at it.
  EXPECT_LT(pct(shed_ms, 0.99), 2000.0);
  {
    std::lock_guard lock(tally.m);
    for (auto [status, n] : tally.by_status) EXPECT_TRUE(status == 200 || status == 503) << status;
  }
  EXPECT_TRUE(stack.gateway().alive());
  EXPECT_LT(rss_after, rss_before + 200 * 1024);  // bounded: no queue growing without end
}

TEST(Faults, RateLimitIsSharedByReplicasAndAnswers429WithRetryAfter) {
  TempDir dir;
  Stack stack(stack_options(dir, json::object(), json::object(),
                            {{"auth", {{"rate_limit", {{"requests_per_second", 2}, {"burst", 5}}}}}}));
  ASSERT_TRUE(stack.wait_ready());
  const int replica = stack.add_gateway();
  int ok = 0, limited = 0, with_retry_after = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = ask(i % 2 ? replica : stack.port(), question("limited", i));
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      if (r.headers.count("retry-after") && std::stoi(r.headers["retry-after"]) >= 1) ++with_retry_after;
      EXPECT_EQ(error_code(r), "rate_limited");
    }
  }
  std::cout << "[faults] rate limit 2/s burst 5 over 2 replicas: ok=" << ok << " limited=" << limited << "\n";
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 7);  // the burst plus what refilled meanwhile, across both replicas
  EXPECT_EQ(ok + limited, 12);
  EXPECT_EQ(with_retry_after, limited);
}

TEST(Faults, RateLimitBucketsArePerKeyAndTheLimiterFailsOpenWhileRedisIsDown) {
  // Key a has a bucket of its own (burst 2), key b the default (burst 4); neither refills
  // within the test. Each asks one question again and again: after the first answer the
  // rest are cache hits, so only the limiter refuses them.
  TempDir dir;
  json keys = {{{"sha256", ragd::sha256_hex("key-a")}, {"tenant", "a"},
                {"rate_limit", {{"requests_per_second", 0.01}, {"burst", 2}}}},
               {{"sha256", ragd::sha256_hex("key-b")}, {"tenant", "b"}}};
  Stack stack(stack_options(dir, json::object(), json::object(),
                            {{"auth", {{"api_keys", keys}, {"rate_limit", {{"requests_per_second", 0.01}, {"burst", 4}}}}},
                             {"cache", {{"enabled", true}}}}));
  ASSERT_TRUE(stack.wait_ready());
  auto ask_as = [&](const std::string& key) {
    return http_request(stack.port(), "POST", "/query", json{{"query", "What is ragd, asked by " + key}}.dump(),
                        {{"Authorization", "Bearer " + key}});
  };
  auto statuses = [&](const std::string& key, int n) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(ask_as(key).status);
    return out;
  };
  EXPECT_EQ(statuses("key-a", 4), (std::vector<int>{200, 200, 429, 429}));
  EXPECT_EQ(statuses("key-b", 6), (std::vector<int>{200, 200, 200, 200, 429, 429})) << "a's bucket is not b's";

  // Redis down: the limiter cannot reach the buckets and lets requests through (fail-open),
  // and the answers in the gateway's own memory are still served.
  stack.redis().stop();
  for (const std::string key : {"key-a", "key-b"}) {
    auto r = ask_as(key);
    EXPECT_EQ(r.status, 200) << key << ": " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false).value("cache", ""), "hit") << r.body;
  }
  // A question not in memory needs Redis (the queue): 503, not a rate-limit answer.
  auto fresh = http_request(stack.port(), "POST", "/query", json{{"query", "a new question"}}.dump(),
                            {{"Authorization", "Bearer key-a"}});
  EXPECT_EQ(fresh.status, 503) << fresh.body;
}

TEST(Faults, ThousandClientCancellationsEveryAnswerReachesItsAsker) {
  FakeLlm llm({"--latency-ms", "80"});
  TempDir dir;
  Stack stack(stack_options(dir, {{"reclaim_idle_ms", 2000}}, {{"base_url", llm.base_url()}}));
  stack.start_worker();
  ASSERT_TRUE(stack.wait_ready());
  Tally kept;
  std::atomic<int> cancelled{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 20; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c));
      for (int i = 0; i < 65; ++i) {
        auto q = question("c" + std::to_string(c), i);
        if (i % 13 == 0) {  // 5 of 65 are kept: 100 answers checked, 1200 cancelled
          kept.record(ask(stack.port(), q, 30s), q);
        } else {
          // Hangs up after 0..120 ms: before, during or after the job is queued or run.
          abandon(stack.port(), q, std::chrono::milliseconds(rng() % 120));
          ++cancelled;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  const int total = 20 * 65;
  bool drained = wait_until([&] { return stack.redis().cli({"XLEN", "ragd:jobs"}) == "0"; }, 20s);
  std::cout << "[faults] cancellations: cancelled=" << cancelled << " kept_sent=" << kept.sent
            << " kept_answered=" << kept.answered << " mixed_up=" << kept.mixed_up
            << " llm_calls=" << llm.chat_calls() << " jobs_never_run=" << (total - llm.chat_calls())
            << " queue_drained=" << drained << " statuses:" << kept.statuses() << "\n";
  EXPECT_EQ(cancelled.load(), 1200);
  EXPECT_LT(llm.chat_calls(), total) << "some abandoned jobs were removed before they ran";
  EXPECT_EQ(kept.answered.load(), kept.sent.load()) << kept.statuses();
  EXPECT_EQ(kept.mixed_up.load(), 0);
  EXPECT_TRUE(drained);
  EXPECT_TRUE(stack.gateway().alive());
  if (!stack.gateway().alive()) {
    auto log = stack.gateway().log();
    std::cerr << "---- end of ragd log ----\n" << log.substr(log.size() > 3000 ? log.size() - 3000 : 0) << "\n";
  }
}
