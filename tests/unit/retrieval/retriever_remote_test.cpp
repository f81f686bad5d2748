// The Retriever with an external (remote) embedder: embedding as I/O, index work on the
// pool, and snapshots that remember which embedder made their vectors.
#include "ragd/retrieval/remote_embedder.hpp"
#include "ragd/retrieval/retriever.hpp"

#include "fake_llm_process.hpp"

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
  auto hits = test::run_bounded<Result<std::vector<Hit>>>(
      [cfg](asio::io_context& io) -> asio::awaitable<Result<std::vector<Hit>>> {
        auto embedder = std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, "");
        Retriever r(cfg, embedder);
        auto stats = co_await r.ingest(documents());
        if (!stats) co_return stats.error();
        co_return co_await r.search("what causes tides", 1);
      });
  ASSERT_TRUE(hits.has_value());
  ASSERT_TRUE(hits->has_value()) << hits->error().message;
  ASSERT_EQ((*hits)->size(), 1u);
  EXPECT_EQ((**hits)[0].doc_id, "tides");
  EXPECT_EQ(fake.stat("embedding_calls"), 2);  // one batch for both chunks, one query
  EXPECT_EQ(fake.stat("embedding_inputs"), 3);
}

TEST(RetrieverWithRemoteEmbedder, AnEmbedderFailureFailsTheIngestAndIndexesNothing) {
  FakeLlm fake({"--dim", "16"});  // the config says 32
  const RetrievalConfig cfg = config_with(fake);
  auto result = test::run_bounded<Result<std::size_t>>(
      [cfg](asio::io_context& io) -> asio::awaitable<Result<std::size_t>> {
        Retriever r(cfg, std::make_shared<RemoteEmbedder>(io.get_executor(), cfg.embedder, ""));
        auto stats = co_await r.ingest(documents());
        if (!stats) co_return stats.error();
        co_return r.chunk_count();
      });
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->has_value());
  EXPECT_NE(result->error().message.find("dim 16, expected 32"), std::string::npos) << result->error().message;
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

}  // namespace
}  // namespace ragd::retrieval
