// The answer cache with real processes: hits never reach the model, identical misses
// share one model call, stale answers are served at once with exactly one refresh across
// replicas, and answers never cross tenants, cohorts, sessions or index versions.
#include "stack.hpp"

#include "ragd/core/ids.hpp"

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

using namespace ragd::test;
using nlohmann::json;

namespace {

json body_of(const HttpResult& r) { return json::parse(r.body, nullptr, false); }

StackOptions with_llm(FakeLlm& llm, json gateway = json::object()) {
  StackOptions o;
  o.worker_env = {{"RAGD_LLM_BASE_URL", llm.base_url()}};
  o.gateway_config = std::move(gateway);
  return o;
}

// Runs `n` requests from `threads` client threads; returns the parsed bodies (status in "_status").
std::vector<json> concurrent(int n, int threads, const std::function<HttpResult(int)>& send) {
  std::vector<json> out(n);
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        auto r = send(i);
        out[i] = body_of(r);
        if (!out[i].is_object()) out[i] = json::object();
        out[i]["_status"] = r.status;
      }
    });
  }
  for (auto& t : ts) t.join();
  return out;
}

}  // namespace

TEST(AnswerCache, AHitNeverReachesTheQueueOrTheModel) {
  FakeLlm llm;
  Stack stack(with_llm(llm));
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  auto first = stack.post("/query", {{"query", "What causes tides?"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(body_of(first)["cache"], "miss");
  ASSERT_EQ(llm.chat_calls(), 1);
  for (int i = 0; i < 20; ++i) {
    // Case, spacing and punctuation do not make a new question.
    auto r = stack.post("/query", {{"query", i % 2 ? "what causes  TIDES" : "What causes tides?"}});
    ASSERT_EQ(r.status, 200);
    auto j = body_of(r);
    EXPECT_EQ(j["cache"], "hit");
    EXPECT_EQ(j["answer"], body_of(first)["answer"]);
    EXPECT_GE(j["cache_age_ms"].get<double>(), 0);
  }
  EXPECT_EQ(llm.chat_calls(), 1);
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs"}), "0");
  // bypass and refresh do reach the model.
  EXPECT_EQ(body_of(stack.post("/query", {{"query", "What causes tides?"}, {"cache", "bypass"}}))["cache"], "bypass");
  EXPECT_EQ(body_of(stack.post("/query", {{"query", "What causes tides?"}, {"cache", "refresh"}}))["cache"], "miss");
  EXPECT_EQ(llm.chat_calls(), 3);
  EXPECT_EQ(stack.post("/query", {{"query", "What causes tides?"}, {"cache", "sometimes"}}).status, 400);
}

TEST(AnswerCache, FiveHundredConcurrentIdenticalMissesMakeOneModelCall) {
  FakeLlm llm({"--latency-ms", "400"});
  Stack stack(with_llm(llm));
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  auto results = concurrent(500, 100, [&](int) {
    return stack.post("/query", {{"query", "How many drones live in a honey bee colony?"}});
  });
  std::set<std::string> answers;
  int ok = 0;
  for (auto& j : results) {
    if (j["_status"] == 200) {
      ++ok;
      answers.insert(j["answer"].get<std::string>());
    }
  }
  EXPECT_EQ(ok, 500);
  EXPECT_EQ(answers.size(), 1u);
  EXPECT_EQ(llm.chat_calls(), 1);
}

TEST(AnswerCache, StaleAnswersAreServedAtOnceAcrossReplicasWithExactlyOneRefresh) {
  FakeLlm llm({"--latency-ms", "1500"});
  Stack stack(with_llm(llm, {{"cache", {{"soft_ttl_ms", 1000}, {"hard_ttl_ms", 600000}}}}));
  int replica = stack.add_gateway();
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus"), replica).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json q = {{"query", "Which volcano closed European airspace?"}};
  ASSERT_EQ(stack.post("/query", q).status, 200);
  ASSERT_EQ(llm.chat_calls(), 1);
  // The other replica finds it in Redis (L2).
  auto shared = http_request(replica, "POST", "/query", q.dump());
  ASSERT_EQ(shared.status, 200) << shared.body;
  EXPECT_EQ(body_of(shared)["cache"], "hit");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past the soft TTL

  auto results = concurrent(1000, 50, [&](int i) {
    return i % 2 ? http_request(replica, "POST", "/query", q.dump()) : stack.post("/query", q);
  });
  int stale = 0, ok = 0, waited = 0;
  for (auto& j : results) {
    ok += j["_status"] == 200;
    stale += j.value("cache", "") == "stale";
    // Served from a cache (stale, or fresh once the refresh landed): nobody waited on the model.
    waited += j.value("cache", "") != "stale" && j.value("cache", "") != "hit";
  }
  EXPECT_EQ(ok, 1000);
  EXPECT_GT(stale, 0);
  EXPECT_EQ(waited, 0);
  ASSERT_TRUE(wait_until([&] { return llm.chat_calls() >= 2; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(llm.chat_calls(), 2) << "exactly one refresh across both replicas";
  // After the refresh, the fresh answer is served.
  ASSERT_TRUE(wait_until([&] { return body_of(stack.post("/query", q))["cache"] == "hit"; },
                         std::chrono::seconds(10)));
  EXPECT_LT(body_of(stack.post("/query", q))["cache_age_ms"].get<double>(), 5000);
}

TEST(AnswerCache, AFailingRefreshKeepsServingStaleUntilTheHardTtl) {
  auto llm = std::make_unique<FakeLlm>();
  Stack stack(with_llm(*llm, {{"cache", {{"soft_ttl_ms", 300}, {"hard_ttl_ms", 2500}}},
                              {"server", {{"request_timeout_ms", 3000}}}}));
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json q = {{"query", "What is castling in chess?"}};
  auto first = stack.post("/query", q);
  ASSERT_EQ(first.status, 200);
  llm->stop();  // the model is now unreachable
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  for (int i = 0; i < 5; ++i) {
    auto r = stack.post("/query", q);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body_of(r)["cache"], "stale");
    EXPECT_EQ(body_of(r)["answer"], body_of(first)["answer"]);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(wait_until([&] {
    return stack.get("/metrics").body.find("ragd_answer_cache_refreshes_total{outcome=\"failed\"}") != std::string::npos;
  }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past the hard TTL
  auto after = stack.post("/query", q);
  EXPECT_NE(after.status, 200) << after.body;
  EXPECT_TRUE(body_of(after).contains("error")) << after.body;
}

TEST(AnswerCache, TenantsAndCohortsNeverShareAnswers) {
  FakeLlm llm;
  json keys = {{{"sha256", ragd::sha256_hex("key-a")}, {"tenant", "a"}},
               {{"sha256", ragd::sha256_hex("key-b")}, {"tenant", "b"}}};
  Stack stack(with_llm(llm, {{"auth", {{"api_keys", keys}}}}));
  auto as = [](const char* k) { return std::map<std::string, std::string>{{"Authorization", std::string("Bearer ") + k}}; };
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {{{"id", "d"}, {"text", "Bees make honey."}}}}}, as("key-a")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json q = {{"query", "What do bees make?"}};
  EXPECT_EQ(body_of(stack.post("/query", q, as("key-a")))["cache"], "miss");
  EXPECT_EQ(body_of(stack.post("/query", q, as("key-b")))["cache"], "miss");
  EXPECT_EQ(body_of(stack.post("/query", q, as("key-b")))["cache"], "hit");
  EXPECT_EQ(llm.chat_calls(), 2);

  stack.redis().cli({"HSET", "ragd:t:a:profile:{u1}", "expertise", "beginner"});
  stack.redis().cli({"HSET", "ragd:t:a:profile:{u2}", "expertise", "expert"});
  stack.redis().cli({"HSET", "ragd:t:a:profile:{u3}", "expertise", "beginner", "favourite_colour", "green"});
  json q1 = {{"query", "What do bees make?"}, {"user_id", "u1"}};
  json q2 = {{"query", "What do bees make?"}, {"user_id", "u2"}};
  json q3 = {{"query", "What do bees make?"}, {"user_id", "u3"}};
  EXPECT_EQ(body_of(stack.post("/query", q1, as("key-a")))["cache"], "miss");
  EXPECT_EQ(body_of(stack.post("/query", q2, as("key-a")))["cache"], "miss");
  // u3 has u1's cohort: the fields the prompt does not use do not split the cache.
  EXPECT_EQ(body_of(stack.post("/query", q3, as("key-a")))["cache"], "hit");
  EXPECT_EQ(llm.chat_calls(), 4);
}

TEST(AnswerCache, IngestingADocumentChangesTheNextAnswer) {
  Stack stack;
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json q = {{"query", "What is the boiling point of liquid nitrogen?"}};
  auto before = body_of(stack.post("/query", q));
  EXPECT_EQ(body_of(stack.post("/query", q))["cache"], "hit");
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {{{"id", "nitrogen.md"}, {"title", "Liquid nitrogen"},
      {"text", "Liquid nitrogen boils at minus 196 degrees Celsius, so the boiling point of liquid nitrogen is 77 kelvin."}}}}}).status, 200);
  auto after = body_of(stack.post("/query", q));
  EXPECT_EQ(after["cache"], "miss");
  EXPECT_EQ(after["sources"][0]["doc_id"], "nitrogen.md");
  EXPECT_NE(after["answer"].get<std::string>().find("196"), std::string::npos) << after.dump();
  EXPECT_NE(after["answer"], before["answer"]);
}

TEST(AnswerCache, AFollowUpInASessionIsNotServedTheSameWordsAskedWithoutIt) {
  FakeLlm llm;
  Stack stack(with_llm(llm));
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json plain = {{"query", "How long does it take?"}};
  EXPECT_EQ(body_of(stack.post("/query", plain))["cache"], "miss");
  EXPECT_EQ(body_of(stack.post("/query", plain))["cache"], "hit");
  ASSERT_EQ(stack.post("/query", {{"query", "How do I bake sourdough?"}, {"session_id", "s1"}}).status, 200);
  auto follow = body_of(stack.post("/query", {{"query", "How long does it take?"}, {"session_id", "s1"}}));
  EXPECT_EQ(follow["cache"], "miss");
  EXPECT_EQ(stack.redis().cli({"LLEN", "ragd:t:default:session:{s1}"}), "2");
  EXPECT_EQ(stack.redis().cli({"GET", "ragd:t:default:session:{s1}:n"}), "2");
}

TEST(AnswerCache, L1StaysWithinItsByteBound) {
  const int bound = 64 * 1024;
  StackOptions opts;
  opts.gateway_config = {{"cache", {{"l1_max_bytes", bound}, {"l2_enabled", false}}}};
  Stack stack(opts);
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(stack.post("/query", {{"query", "tides and bees and sourdough question " + std::to_string(i)}, {"top_k", 5}}).status, 200);
  }
  auto m = stack.get("/metrics").body;
  auto pos = m.find("ragd_cache_l1_bytes{cache=\"answers\"} ");
  ASSERT_NE(pos, std::string::npos) << m;
  double bytes = std::stod(m.substr(pos + std::string("ragd_cache_l1_bytes{cache=\"answers\"} ").size()));
  EXPECT_GT(bytes, 0);
  EXPECT_LE(bytes, bound);
  const std::string evictions = "ragd_cache_l1_evictions{cache=\"answers\"} ";
  auto at = m.find(evictions);
  ASSERT_NE(at, std::string::npos) << m;
  EXPECT_GT(std::stod(m.substr(at + evictions.size())), 0) << "60 answers in 64 KiB: some must have been evicted";
}

TEST(AnswerCache, ARuleCanShortenTheLifetimeOfTheAnswersItShapes) {
  FakeLlm llm;
  TempDir dir;
  const std::string rules_path = dir.path() + "/rules.json";
  {
    std::ofstream f(rules_path);
    f << R"({"rules": [{"id": "volcano-news", "match": {"keywords": ["volcano"]}, "action": "instruct",
                        "instruction": "Mention that eruptions change quickly.",
                        "cache_soft_ttl_ms": 1000, "cache_hard_ttl_ms": 600000}]})";
  }
  Stack stack(with_llm(llm, {{"cache", {{"soft_ttl_ms", 600000}, {"hard_ttl_ms", 600000}}},
                             {"rules", {{"file", rules_path}}}}));
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json ruled = {{"query", "Which volcano closed European airspace?"}};
  json plain = {{"query", "How do honey bees communicate?"}};
  ASSERT_EQ(stack.post("/query", ruled).status, 200);
  ASSERT_EQ(stack.post("/query", plain).status, 200);
  EXPECT_EQ(body_of(stack.post("/query", ruled))["cache"], "hit");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past the rule's soft TTL only

  auto after_ruled = body_of(stack.post("/query", ruled));
  EXPECT_EQ(after_ruled["cache"], "stale") << "the rule's 1 s soft TTL applies";
  EXPECT_EQ(after_ruled["rules_matched"], json::array({"volcano-news"}));
  EXPECT_EQ(body_of(stack.post("/query", plain))["cache"], "hit") << "the gateway's 10 min soft TTL applies";
}

// The session mirror: a gateway reuses the turns it holds while nobody else appended, and
// reads the list again once another replica has.
TEST(AnswerCache, SessionHistoryIsMirroredInL1UntilAnotherReplicaAppends) {
  FakeLlm llm;
  Stack stack(with_llm(llm));
  ASSERT_EQ(stack.ingest_dir(source_path("tests/data/corpus")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  const int replica = stack.add_gateway();
  auto ask = [&](int port, const std::string& q) {
    json body = {{"query", q}, {"session_id", "mirror"}};
    return http_request(port, "POST", "/query", body.dump(), {{"Content-Type", "application/json"}},
                        std::chrono::seconds(30));
  };
  auto counter = [&](const std::string& result) {
    const std::string m = stack.get("/metrics").body;
    const std::string line = "ragd_cache_lookups_total{cache=\"session\",result=\"" + result + "\"} ";
    auto pos = m.find(line);
    return pos == std::string::npos ? -1.0 : std::stod(m.substr(pos + line.size()));
  };
  ASSERT_EQ(ask(stack.port(), "How do I bake sourdough?").status, 200);    // A: first read, a miss
  ASSERT_EQ(ask(stack.port(), "How long does it take?").status, 200);      // A: its own turns, an L1 hit
  EXPECT_EQ(counter("miss"), 1);
  EXPECT_EQ(counter("l1_hit"), 1);
  ASSERT_EQ(ask(replica, "And the oven temperature?").status, 200);        // B appends a third turn
  auto fourth = ask(stack.port(), "What flour should I use?");              // A must read the list again
  ASSERT_EQ(fourth.status, 200) << fourth.body;
  EXPECT_EQ(counter("miss"), 2) << "A served its mirror although B had appended";
  EXPECT_EQ(counter("l1_hit"), 1);
  EXPECT_EQ(stack.redis().cli({"GET", "ragd:t:default:session:{mirror}:n"}), "4");
  EXPECT_EQ(stack.redis().cli({"LLEN", "ragd:t:default:session:{mirror}"}), "4");
}
