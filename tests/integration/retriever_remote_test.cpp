// The Retriever with an external (remote) embedder: embedding as I/O, index work on the
// pool, and snapshots that remember which embedder made their vectors.
#include "ragd/metrics/metrics.hpp"
#include "ragd/retrieval/evaluation.hpp"
#include "ragd/retrieval/remote_embedder.hpp"
#include "ragd/retrieval/retriever.hpp"

#include "fake_llm.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace ragd::retrieval {
namespace {

namespace asio = boost::asio;
using test::FakeLlm;

RetrievalConfig config_with(const FakeLlm& fake, const std::string& snapshot_path = "") {
  RetrievalConfig c;
  c.embedding_dim = 64;
  c.chunker.target_chars = 200;
  c.chunker.overlap_chars = 40;
  c.snapshot_path = snapshot_path;
  c.snapshot_interval_ms = 60000;  // saved explicitly
  c.embedder.base_url = fake.base_url();
  c.embedder.model = "test-embed";
  c.embedder.dim = 32;
  c.embedder.timeout_ms = 5000;
  return c;
}

std::vector<Document> documents() {
  return {
      {"bees", "Honey bees", "Worker bees perform the waggle dance to show where flowers are."},
      {"tides", "Ocean tides", "Tides are caused mainly by the gravitational pull of the Moon."},
  };
}

TEST(RetrieverWithRemoteEmbedder, IngestsAndSearchesThroughTheService) {
  FakeLlm fake({"--dim", "32"});
  const RetrievalConfig cfg = config_with(fake);
  auto hits = test::run_coro<Result<std::vector<Hit>>>(
      [cfg](asio::io_context& io) -> asio::awaitable<Result<std::vector<Hit>>> {
        auto embedder = std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, "");
        Retriever r(cfg, embedder);
        auto stats = co_await r.ingest(documents());
        if (!stats) co_return stats.error();
        co_return co_await r.search("what causes tides", 1);
      });
  ASSERT_TRUE(hits.has_value()) << hits.error().message;
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].doc_id, "tides");
  EXPECT_EQ(fake.stat("embedding_calls"), 2);  // one batch for both chunks, one query
  EXPECT_EQ(fake.stat("embedding_inputs"), 3);
}

TEST(RetrieverWithRemoteEmbedder, AnEmbedderFailureFailsTheIngestAndIndexesNothing) {
  FakeLlm fake({"--dim", "16"});  // the config says 32
  const RetrievalConfig cfg = config_with(fake);
  auto result = test::run_coro<Result<std::size_t>>(
      [cfg](asio::io_context& io) -> asio::awaitable<Result<std::size_t>> {
        Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
        auto stats = co_await r.ingest(documents());
        if (!stats) co_return stats.error();
        co_return r.chunk_count();
      });
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("dim 16, expected 32"), std::string::npos) << result.error().message;
}

TEST(RetrieverWithRemoteEmbedder, SnapshotFromAnotherEmbedderIsReembeddedOnceThenKept) {
  FakeLlm fake({"--dim", "32"});
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  RetrievalConfig cfg = config_with(fake, path);
  {
    RetrievalConfig hash_cfg = cfg;
    hash_cfg.embedder.base_url.clear();
    Retriever hashed(hash_cfg);
    ASSERT_TRUE(hashed.ingest_sync(documents()));
    ASSERT_TRUE(hashed.save_snapshot_sync());
  }
  asio::io_context io;  // never run: loading and saving are blocking calls
  {
    Retriever remote(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
    auto loaded = remote.load_snapshot();
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    EXPECT_TRUE(loaded->reembedded);
    EXPECT_EQ(loaded->chunks, 2u);
    EXPECT_EQ(fake.stat("embedding_inputs"), 2);
    auto hits = remote.search_sync("what causes tides", 1, SearchMode::dense);
    ASSERT_TRUE(hits.has_value()) << hits.error().message;
    ASSERT_EQ(hits->size(), 1u);
    ASSERT_TRUE(remote.save_snapshot_sync());
  }
  Retriever again(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
  auto loaded = again.load_snapshot();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_FALSE(loaded->reembedded);
  EXPECT_EQ(fake.stat("embedding_inputs"), 3);  // 2 re-embedded + 1 query, nothing more
}

// An index built while the embedding service worked, then served while it fails: written
// by one Retriever, loaded by the one under test (same model and dim: nothing re-embedded).
std::string snapshot_with_documents(const FakeLlm& working, const test::TempDir& dir) {
  RetrievalConfig cfg = config_with(working, dir.path() + "/index.snap");
  asio::io_context io;  // never run: the blocking forms only
  Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
  EXPECT_TRUE(r.ingest_sync(documents()));
  EXPECT_TRUE(r.save_snapshot_sync());
  return cfg.snapshot_path;
}

RetrievalConfig failing_config(const std::string& base_url, const std::string& snapshot_path) {
  RetrievalConfig c;
  c.embedding_dim = 64;
  c.chunker.target_chars = 200;
  c.chunker.overlap_chars = 40;
  c.snapshot_path = snapshot_path;
  c.snapshot_interval_ms = 60000;
  c.embedder.base_url = base_url;
  c.embedder.model = "test-embed";
  c.embedder.dim = 32;
  c.embedder.timeout_ms = 5000;
  c.embedder.max_attempts = 2;
  return c;
}

struct Searched {
  Result<SearchResult> hybrid = make_error(Errc::internal, "not run");
  Result<SearchResult> dense = make_error(Errc::internal, "not run");
  std::string metrics;
  std::uint64_t degraded = 0;
};

// One hybrid and one dense search through the coroutine API, with the embedder at `cfg`.
Searched search_both(const RetrievalConfig& cfg) {
  return test::run_coro<Searched>([cfg](asio::io_context& io) -> asio::awaitable<Searched> {
    metrics::Registry registry;
    Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""), &registry);
    Searched out;
    if (auto loaded = r.load_snapshot(); !loaded) {
      out.hybrid = loaded.error();
      co_return out;
    }
    out.hybrid = co_await r.retrieve("what causes tides", 2, SearchMode::hybrid);
    out.dense = co_await r.retrieve("what causes tides", 2, SearchMode::dense);
    out.metrics = registry.render();
    out.degraded = r.degraded_searches();
    co_return out;
  });
}

void expect_degraded_to_bm25(const Searched& s) {
  ASSERT_TRUE(s.hybrid.has_value()) << s.hybrid.error().message;
  EXPECT_TRUE(s.hybrid->degraded);
  EXPECT_EQ(s.hybrid->mode_used, SearchMode::lexical);
  EXPECT_EQ(s.hybrid->degraded_reason, "embedder");
  ASSERT_FALSE(s.hybrid->hits.empty());
  EXPECT_EQ(s.hybrid->hits[0].doc_id, "tides");  // BM25 alone still finds it
  ASSERT_FALSE(s.dense.has_value()) << "a dense search has nothing to fall back on";
  EXPECT_NE(s.dense.error().message.find("dense search needs the query's embedding"), std::string::npos)
      << s.dense.error().message;
  EXPECT_EQ(s.degraded, 1u);
  EXPECT_NE(s.metrics.find(R"(ragd_retrieval_degraded_total{reason="embedder"} 1)"), std::string::npos) << s.metrics;
}

TEST(RetrieverWithRemoteEmbedder, HybridSearchFallsBackToBm25WhenTheServiceFailsAndDenseSearchFails) {
  FakeLlm working({"--dim", "32"});
  test::TempDir dir;
  const std::string snapshot = snapshot_with_documents(working, dir);
  FakeLlm failing({"--dim", "32", "--error-rate", "1"});  // every call answered 500
  auto s = search_both(failing_config(failing.base_url(), snapshot));
  expect_degraded_to_bm25(s);
  EXPECT_EQ(s.dense.error().code, Errc::upstream_error);
  EXPECT_GE(failing.stat("errors_injected"), 2);  // both searches asked the service
}

TEST(RetrieverWithRemoteEmbedder, HybridSearchFallsBackToBm25WhenTheServiceIsNotListening) {
  FakeLlm working({"--dim", "32"});
  test::TempDir dir;
  const std::string snapshot = snapshot_with_documents(working, dir);
  const std::string closed = "http://127.0.0.1:" + std::to_string(test::free_port());
  auto s = search_both(failing_config(closed, snapshot));
  expect_degraded_to_bm25(s);
}

// A service that never answers would hold a hybrid search for its whole retry budget
// (here 2 x 5 s), far past the retrieval leg's deadline; the query's embedding gets half
// of retrieval.timeout_ms instead, and the BM25 answer comes within the leg's time.
TEST(RetrieverWithRemoteEmbedder, AHangingServiceDegradesHybridSearchWithinTheRetrievalTimeout) {
  FakeLlm working({"--dim", "32"});
  test::TempDir dir;
  const std::string snapshot = snapshot_with_documents(working, dir);
  FakeLlm hanging({"--dim", "32", "--hang-rate", "1"});
  RetrievalConfig cfg = failing_config(hanging.base_url(), snapshot);
  cfg.timeout_ms = 400;
  auto found = test::run_coro<Result<SearchResult>>(
      [cfg](asio::io_context& io) -> asio::awaitable<Result<SearchResult>> {
        Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
        if (auto loaded = r.load_snapshot(); !loaded) co_return loaded.error();
        co_return co_await r.retrieve("what causes tides", 2, SearchMode::hybrid);
      },
      std::chrono::seconds(4));
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_TRUE(found->degraded);
  ASSERT_FALSE(found->hits.empty());
  EXPECT_EQ(found->hits[0].doc_id, "tides");
}

// The blocking form (ragctl eval, tools) degrades the same way, and evaluation refuses to
// score BM25 alone as hybrid.
TEST(RetrieverWithRemoteEmbedder, TheBlockingFormDegradesTooAndSaysSo) {
  FakeLlm working({"--dim", "32"});
  test::TempDir dir;
  const std::string snapshot = snapshot_with_documents(working, dir);
  FakeLlm failing({"--dim", "32", "--error-rate", "1"});
  const RetrievalConfig cfg = failing_config(failing.base_url(), snapshot);
  asio::io_context io;
  Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
  ASSERT_TRUE(r.load_snapshot());
  auto hybrid = r.retrieve_sync("what causes tides", 2, SearchMode::hybrid);
  ASSERT_TRUE(hybrid.has_value()) << hybrid.error().message;
  EXPECT_TRUE(hybrid->degraded);
  EXPECT_EQ(hybrid->mode_used, SearchMode::lexical);
  ASSERT_FALSE(hybrid->hits.empty());
  EXPECT_EQ(hybrid->hits[0].doc_id, "tides");
  auto dense = r.search_sync("what causes tides", 2, SearchMode::dense);
  ASSERT_FALSE(dense.has_value());
  EXPECT_EQ(dense.error().code, Errc::upstream_error);
  auto lexical = r.retrieve_sync("what causes tides", 2, SearchMode::lexical);
  ASSERT_TRUE(lexical.has_value());
  EXPECT_FALSE(lexical->degraded);  // asked for BM25: nothing degraded
  EXPECT_EQ(r.degraded_searches(), 1u);

  BeirDataset data;
  data.queries = {EvalQuery{"q1", "what causes tides"}};
  data.qrels["q1"]["tides"] = 1;
  auto scored = evaluate(r, data, {SearchMode::lexical});
  ASSERT_TRUE(scored.has_value()) << scored.error().message;
  EXPECT_DOUBLE_EQ(scored->front().ndcg_at_10, 1.0);
  auto refused = evaluate(r, data, {SearchMode::hybrid});
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("fell back to BM25 alone"), std::string::npos) << refused.error().message;
}

// With the service up, nothing is degraded.
TEST(RetrieverWithRemoteEmbedder, AWorkingServiceGivesHybridResultsNotDegraded) {
  FakeLlm fake({"--dim", "32"});
  const RetrievalConfig cfg = config_with(fake);
  auto found = test::run_coro<Result<SearchResult>>(
      [cfg](asio::io_context& io) -> asio::awaitable<Result<SearchResult>> {
        Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
        auto stats = co_await r.ingest(documents());
        if (!stats) co_return stats.error();
        co_return co_await r.retrieve("what causes tides", 1, SearchMode::hybrid);
      });
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_FALSE(found->degraded);
  EXPECT_EQ(found->mode_used, SearchMode::hybrid);
  EXPECT_EQ(found->degraded_reason, "");
}

}  // namespace
}  // namespace ragd::retrieval
