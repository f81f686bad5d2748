// ragd with a remote embedding service: RAGD_EMBED_BASE_URL points the gateway at the
// fake LLM's /v1/embeddings, and the embedding cache keeps repeated questions from
// reaching it again.
#include "stack.hpp"

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string corpus_dir() { return source_path("tests/data/corpus"); }

json body_of(const HttpResult& r) { return json::parse(r.body, nullptr, false); }

std::int64_t fake_stat(FakeLlm& fake, const char* name) {
  auto s = fake.stats();
  return s.is_object() ? s.value(name, std::int64_t{-1}) : -1;
}

std::int64_t embedding_inputs(FakeLlm& fake) { return fake_stat(fake, "embedding_inputs"); }

StackOptions remote_embedder_stack(const FakeLlm& fake) {
  StackOptions opts;
  opts.gateway_env = {{"RAGD_EMBED_BASE_URL", fake.base_url()}, {"RAGD_EMBED_DIM", "384"},
                      {"RAGD_EMBED_MODEL", "fake-embed"}};
  // Without the answer cache every query reaches retrieval, so only the embedding cache
  // can keep a repeated question from the embedder.
  opts.gateway_config = {{"cache", {{"enabled", false}}}};
  return opts;
}

}  // namespace

TEST(Embeddings, IngestsAndAnswersThroughTheRemoteEmbedderAndCachesTheQueryVector) {
  FakeLlm fake;  // 384-dimensional vectors
  Stack stack(remote_embedder_stack(fake));
  auto ingest = stack.ingest_dir(corpus_dir());
  ASSERT_EQ(ingest.status, 200) << ingest.body;
  EXPECT_EQ(body_of(ingest)["documents"], 5);
  const std::int64_t after_ingest = embedding_inputs(fake);
  EXPECT_GE(after_ingest, 5) << "every chunk is embedded by the service";
  ASSERT_TRUE(stack.wait_ready());

  const json question = {{"query", "How long should I bake the sourdough loaf in the Dutch oven?"}};
  auto first = stack.post("/query", question);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(body_of(first)["sources"][0]["doc_id"], "sourdough.md") << first.body;
  EXPECT_EQ(embedding_inputs(fake), after_ingest + 1);

  auto again = stack.post("/query", question);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(body_of(again)["sources"][0]["doc_id"], "sourdough.md") << again.body;
  EXPECT_EQ(embedding_inputs(fake), after_ingest + 1) << "the repeated question reached the embedder";

  auto metrics = stack.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(ragd_cache_lookups_total{cache="embedding",result="l1_hit"} 1)"), std::string::npos)
      << metrics.body.substr(0, 4000);
}

TEST(Embeddings, AServiceOfAnotherDimensionFailsTheIngestWithAClearError) {
  FakeLlm fake({"--dim", "128"});
  StackOptions opts = remote_embedder_stack(fake);  // expects 384
  opts.start_worker = false;
  Stack stack(opts);
  auto ingest = stack.ingest_dir(corpus_dir());
  EXPECT_EQ(ingest.status, 502) << ingest.body;  // the service's answer is wrong: upstream_error
  auto j = body_of(ingest);
  ASSERT_TRUE(j.is_object()) << ingest.body;
  EXPECT_NE(j["error"]["message"].get<std::string>().find("expected 384"), std::string::npos) << ingest.body;
}

TEST(Embeddings, AnIngestWhoseServiceHangsEndsIn504AtTheEmbedderDeadline) {
  FakeLlm fake({"--hang-rate", "1"});
  StackOptions opts = remote_embedder_stack(fake);
  opts.start_worker = false;
  opts.gateway_config["retrieval"] = {{"embedder", {{"timeout_ms", 500}, {"max_attempts", 1}}}};
  Stack stack(opts);
  const auto t0 = std::chrono::steady_clock::now();
  auto ingest = stack.ingest_dir(corpus_dir());
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ingest.status, 504) << ingest.body;
  auto j = body_of(ingest);
  ASSERT_TRUE(j.is_object()) << ingest.body;
  EXPECT_EQ(j["error"]["code"], "deadline_exceeded") << ingest.body;
  // Its budget is timeout_ms x max_attempts (0.5 s); far from the 30 s a client would wait.
  EXPECT_LT(took, std::chrono::seconds(5));
  // Nothing of it was stored, and the gateway still serves.
  EXPECT_EQ(stack.get("/v1/documents/tides.md").status, 404);
  EXPECT_EQ(stack.get("/healthz").status, 200);
}

TEST(Embeddings, HybridQueriesFallBackToBm25WhenTheServiceGoesAwayAndAreNotCached) {
  FakeLlm fake;
  StackOptions opts = remote_embedder_stack(fake);
  opts.gateway_config = {{"cache", {{"enabled", true}}}, {"retrieval", {{"timeout_ms", 2000}}}};
  Stack stack(opts);
  ASSERT_EQ(stack.ingest_dir(corpus_dir()).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  fake.stop();  // the embedding service is gone; the documents are indexed

  const json question = {{"query", "How long should I bake the sourdough loaf in the Dutch oven?"}};
  for (int i = 0; i < 2; ++i) {
    auto r = stack.post("/query", question);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = body_of(r);
    EXPECT_EQ(j["retrieval_degraded"], "embedder") << r.body;
    EXPECT_EQ(j["cache"], "miss") << "a degraded answer must not be served from the cache";
    ASSERT_FALSE(j["sources"].empty()) << r.body;
    EXPECT_EQ(j["sources"][0]["doc_id"], "sourdough.md") << "BM25 alone still finds it";
  }
  auto dense = stack.post("/query", json{{"query", "sourdough loaf"}, {"mode", "dense"}});
  EXPECT_EQ(dense.status, 503) << dense.body;  // nothing listens: unavailable
  // The client is told what failed, not where: the service's address is in ragd's log line
  // for the request, never in the body.
  const std::string address = "127.0.0.1:" + std::to_string(fake.port());
  EXPECT_EQ(body_of(dense)["error"]["message"],
            "dense search needs the query's embedding, and the embedding service failed: "
            "embedding service: Couldn't connect to server")
      << dense.body;
  EXPECT_EQ(dense.body.find(address), std::string::npos) << dense.body;
  EXPECT_TRUE(wait_until([&] {
    const std::string log = stack.gateway().log();
    const auto line = log.find("route=/query status=503");
    return line != std::string::npos && log.find(address, line) != std::string::npos;
  }, 5s)) << stack.gateway().log().substr(0, 8000);
  auto metrics = stack.get("/metrics");
  EXPECT_NE(metrics.body.find(R"(ragd_retrieval_degraded_total{reason="embedder"} 2)"), std::string::npos)
      << metrics.body.substr(0, 4000);
}

// The sourdough question, checked to be answered from sourdough.md by dense + BM25 search.
void expect_sourdough_answer(Stack& stack) {
  auto r = stack.post("/query", json{{"query", "How long should I bake the sourdough loaf in the Dutch oven?"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = body_of(r);
  EXPECT_EQ(j["sources"][0]["doc_id"], "sourdough.md") << r.body;
  EXPECT_FALSE(j.contains("retrieval_degraded")) << r.body;
}

TEST(Embeddings, VectorsTravelInBase64WhenTheServiceSupportsIt) {
  FakeLlm fake;  // --base64 yes
  Stack stack(remote_embedder_stack(fake));
  ASSERT_EQ(stack.ingest_dir(corpus_dir()).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  expect_sourdough_answer(stack);
  const std::int64_t calls = fake_stat(fake, "embedding_calls");
  EXPECT_GE(calls, 2);
  EXPECT_EQ(fake_stat(fake, "embedding_base64_calls"), calls) << "every call asked for base64";
}

TEST(Embeddings, AServiceThatRefusesBase64IsAskedForFloatsOnceAndFromThenOn) {
  FakeLlm fake({"--base64", "reject"});
  Stack stack(remote_embedder_stack(fake));
  ASSERT_EQ(stack.ingest_dir(corpus_dir()).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  // Only the first request asked for base64, was refused (400) and asked again for floats.
  EXPECT_EQ(fake_stat(fake, "embedding_base64_asked"), 1);
  EXPECT_EQ(fake_stat(fake, "bad_requests"), 1);
  EXPECT_EQ(fake_stat(fake, "embedding_base64_calls"), 0);
  const std::int64_t calls_after_ingest = fake_stat(fake, "embedding_calls");

  expect_sourdough_answer(stack);
  EXPECT_EQ(fake_stat(fake, "embedding_calls"), calls_after_ingest + 1) << "the query went out once, as floats";
  EXPECT_EQ(fake_stat(fake, "bad_requests"), 1);
}

TEST(Embeddings, AServiceThatIgnoresEncodingFormatIsReadAsFloats) {
  FakeLlm fake({"--base64", "ignore"});
  Stack stack(remote_embedder_stack(fake));
  ASSERT_EQ(stack.ingest_dir(corpus_dir()).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  expect_sourdough_answer(stack);
  EXPECT_EQ(fake_stat(fake, "bad_requests"), 0);
  // Every request asked for base64 and read the floats it got instead.
  const std::int64_t calls = fake_stat(fake, "embedding_calls");
  EXPECT_GE(calls, 2);
  EXPECT_EQ(fake_stat(fake, "embedding_base64_asked"), calls);
  EXPECT_EQ(fake_stat(fake, "embedding_base64_calls"), 0);
}
