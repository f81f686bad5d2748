// Worker failover with real processes (redis-server, ragd, ragd-worker, fake-llm): a worker
// killed with SIGKILL while it holds jobs, with the default settings, and a live worker whose
// jobs outlast reclaim_idle_ms. Each prints its figures ("[failover] ..." lines).
#include "stack.hpp"

#include "ragd/core/ids.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The fake LLM answers "fake answer to: ... Question: <q>": an answer for `q` and no other.
bool answers(const HttpResult& r, const std::string& q) {
  auto j = json::parse(r.body, nullptr, false);
  return r.status == 200 && j.is_object() && j.contains("answer") && j["answer"].is_string() &&
         j["answer"].get<std::string>().ends_with("Question: " + q);
}

struct Load {
  std::atomic<int> answered{0}, wrong{0};
  std::mutex m;
  std::map<int, int> statuses;
  std::vector<std::thread> clients;

  // `n` distinct questions at once, one client thread each.
  void start(int port, const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      clients.emplace_back([this, port, tag, i] {
        const std::string q = tag + "-" + std::to_string(i) + "-" + ragd::random_id().substr(0, 8);
        auto r = http_request(port, "POST", "/query", json{{"query", q}}.dump(),
                              {{"Content-Type", "application/json"}}, 60s);
        std::lock_guard lock(m);
        ++statuses[r.status];
        if (answers(r, q)) {
          ++answered;
        } else if (r.status == 200) {
          ++wrong;
        }
      });
    }
  }
  void join() {
    for (auto& t : clients) t.join();
  }
  std::string summary() {
    std::lock_guard lock(m);
    std::string s;
    for (auto [status, n] : statuses) s += " " + std::to_string(status) + ":" + std::to_string(n);
    return s;
  }
};

// ragd-worker's default consumer name: hostname-pid.
std::string consumer_of(Process& worker) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(worker.pid());
}

// Jobs `consumer` holds (read, not acknowledged) on the interactive stream.
int held_by(RedisServer& redis, const std::string& consumer) {
  auto out = redis.cli({"XPENDING", "ragd:jobs", "ragd-workers", "-", "+", "1000", consumer});
  int n = 0;
  for (std::size_t at = out.find(consumer); at != std::string::npos; at = out.find(consumer, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(WorkerFailover, KillNineOfOneOfThreeWorkersLosesNoQueryWithTheDefaultSettings) {
  // Every queue and server setting at its default: request_timeout_ms 30 s,
  // reclaim_idle_ms 60 s, heartbeat_interval_ms 1 s, worker_stale_ms 5 s, concurrency 32.
  FakeLlm llm({"--latency-ms", "1500"});
  StackOptions opts;
  opts.gateway_config = {{"queue", {{"heartbeat_interval_ms", 1000}, {"worker_stale_ms", 5000}}}};
  opts.worker_args = {"--llm-base-url", llm.base_url()};
  opts.worker_concurrency = 32;
  Stack stack(opts);
  stack.start_worker();
  stack.start_worker();
  ASSERT_TRUE(stack.wait_ready());
  ASSERT_TRUE(wait_until([&] { return stack.redis().cli({"ZCARD", "ragd:workers"}) == "3"; }, 10s));
  const std::string victim = consumer_of(stack.worker(0));

  constexpr int kQueries = 90;
  Load load;
  const auto t0 = Clock::now();
  load.start(stack.port(), "failover", kQueries);
  // All 90 in flight (three workers of 32 slots take them at once), a third on the victim.
  ASSERT_TRUE(wait_until([&] { return llm.chat_calls() >= kQueries; }, 20s)) << llm.chat_calls();
  const int held = held_by(stack.redis(), victim);
  ASSERT_GT(held, 0) << "the victim holds jobs when it dies";
  stack.worker(0).signal(SIGKILL);
  const auto status = stack.worker(0).wait(5s);
  const double killed_at = ms_since(t0);
  load.join();
  const double all_answered = ms_since(t0);
  const int calls = llm.chat_calls();

  std::cout << "[failover] kill -9 1 of 3 workers, defaults: answered=" << load.answered << "/" << kQueries
            << " held_by_victim=" << held << " model_calls=" << calls << " duplicates=" << (calls - kQueries)
            << " killed_at_ms=" << killed_at << " all_answered_ms=" << all_answered
            << " recovery_ms=" << (all_answered - killed_at) << " statuses:" << load.summary() << "\n";
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 128 + SIGKILL);
  EXPECT_EQ(load.answered.load(), kQueries) << load.summary();
  EXPECT_EQ(load.wrong.load(), 0);
  // Only the victim's jobs run twice, each at most once more.
  EXPECT_LE(calls, kQueries + held);
  EXPECT_TRUE(wait_until([&] {
    return stack.redis().cli({"XINFO", "CONSUMERS", "ragd:jobs", "ragd-workers"}).find(victim) == std::string::npos;
  }, 10s)) << "the dead consumer is removed from the group";
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs"}), "0");
}

TEST(WorkerFailover, AJobSlowerThanReclaimIdleIsNotTakenFromItsLiveWorker) {
  // The model takes three times reclaim_idle_ms; the workers renew their claims, so the other
  // worker never takes a running job: one model call per query.
  FakeLlm llm({"--latency-ms", "3000"});
  TempDir dir;
  const std::string config = dir.path() + "/worker.json";
  std::ofstream(config) << json{{"queue", {{"reclaim_idle_ms", 1000}}}, {"llm", {{"base_url", llm.base_url()}}}}.dump();
  StackOptions opts;
  opts.worker_args = {"--config", config};
  opts.worker_concurrency = 4;
  Stack stack(opts);
  stack.start_worker();
  ASSERT_TRUE(stack.wait_ready());
  ASSERT_TRUE(wait_until([&] { return stack.redis().cli({"ZCARD", "ragd:workers"}) == "2"; }, 10s));

  constexpr int kQueries = 6;
  Load load;
  load.start(stack.port(), "slow", kQueries);
  load.join();
  const int calls = llm.chat_calls();
  std::cout << "[failover] model 3x reclaim_idle_ms, 2 workers: answered=" << load.answered << "/" << kQueries
            << " model_calls=" << calls << " statuses:" << load.summary() << "\n";
  EXPECT_EQ(load.answered.load(), kQueries) << load.summary();
  EXPECT_EQ(calls, kQueries) << "a running job was taken over and run again";
  EXPECT_TRUE(stack.worker(0).alive());
  EXPECT_TRUE(stack.worker(1).alive());
}
