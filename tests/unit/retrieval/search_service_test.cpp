#include "ragd/retrieval/search_service.hpp"

#include "ragd/retrieval/corpora.hpp"
#include "ragd/retrieval/embedding_strategy.hpp"
#include "ragd/retrieval/local_writer.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <string>
#include <vector>

namespace ragd::retrieval {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

RetrievalConfig config() {
  RetrievalConfig c;
  c.embedding_dim = 128;
  c.search_threads = 2;
  return c;
}

// Fails every call: a remote embedding service that is down.
class DownEmbedder final : public Embedder {
 public:
  int dim() const override { return 128; }
  std::string name() const override { return "down"; }
  std::string model() const override { return "none"; }
  std::uint32_t snapshot_version() const override { return 1; }
  asio::awaitable<Result<std::vector<float>>> embed_query(std::string) override { co_return failure(); }
  asio::awaitable<Result<std::vector<float>>> embed_documents(std::vector<std::string> texts) override {
    co_return embed_documents_sync(std::move(texts));
  }
  Result<std::vector<float>> embed_documents_sync(std::vector<std::string> texts) override {
    // Chunks embed (the index needs vectors); queries find the service down. The chunks
    // here all have a title, so their texts hold a newline (indexed_text()); queries do not.
    if (texts.size() == 1 && texts[0].find('\n') == std::string::npos) return failure();
    return std::vector<float>(texts.size() * 128, 0.1f);
  }

 private:
  static Error failure() { return make_error(Errc::unavailable, "the embedding service is down"); }
};

const std::vector<Document> kDocs = {
    {"volcano", "Volcanoes", "Magma rises through the crust and erupts as lava."},
    {"tides", "Tides", "The gravity of the Moon pulls the oceans into tides."},
    {"bees", "Bees", "Honey bees dance to tell the hive where flowers are."},
};

TEST(SearchService, ConcurrentBatchedSearchesEachGetTheirOwnAnswer) {
  Corpora corpus(config(), 128);
  BuiltinEmbedding embedding(128, config().analyzer);
  SearchService search(config(), corpus, embedding);
  LocalWriter writer(config(), corpus, embedding, search.pool(), {});
  ASSERT_TRUE(writer.ingest_sync("t", kDocs));
  const std::map<std::string, std::string> asked = {
      {"What erupts from a volcano?", "volcano"}, {"Why are there ocean tides?", "tides"}, {"How do bees dance?", "bees"}};
  std::map<std::string, std::string> answered;
  asio::io_context io;
  for (int round = 0; round < 4; ++round) {
    for (const auto& [question, doc] : asked) {
      asio::co_spawn(io, [&, question = question]() -> asio::awaitable<void> {
        auto found = co_await search.retrieve("t", question, 1, SearchMode::hybrid, 10s);
        answered[question] = found && !found->hits.empty() ? found->hits[0].doc_id : "failed";
      }, asio::detached);
    }
  }
  io.run();
  EXPECT_EQ(answered, asked);
}

// Searches of two tenants queued together share a batch but never a corpus: each gets its
// own tenant's documents (the same id in both), and a tenant with none gets no hits.
TEST(SearchService, BatchedSearchesOfSeveralTenantsEachSearchTheirOwnCorpus) {
  Corpora corpora(config(), 128);
  BuiltinEmbedding embedding(128, config().analyzer);
  SearchService search(config(), corpora, embedding);
  LocalWriter writer(config(), corpora, embedding, search.pool(), {});
  ASSERT_TRUE(writer.ingest_sync("a", {{"guide", "Volcanoes", "Magma rises through the crust and erupts as lava."}}));
  ASSERT_TRUE(writer.ingest_sync("b", {{"guide", "Bees", "Honey bees dance to tell the hive where flowers are."}}));
  std::map<std::string, std::vector<std::string>> texts;
  asio::io_context io;
  for (int round = 0; round < 4; ++round) {
    for (std::string tenant : {"a", "b", "c"}) {
      asio::co_spawn(io, [&, tenant, round]() -> asio::awaitable<void> {
        // Both tenants ask about both topics: only their own document can answer.
        auto found = co_await search.retrieve(tenant, round % 2 ? "magma lava bees" : "bees dance lava", 5,
                                              SearchMode::hybrid, 10s);
        if (!found) {
          texts[tenant].push_back("failed: " + found.error().message);
          co_return;
        }
        for (const auto& h : found->hits) texts[tenant].push_back(h.text);
      }, asio::detached);
    }
  }
  io.run();
  ASSERT_EQ(texts["a"].size(), 4u);
  ASSERT_EQ(texts["b"].size(), 4u);
  for (const auto& t : texts["a"]) EXPECT_NE(t.find("Magma"), std::string::npos) << t;
  for (const auto& t : texts["b"]) EXPECT_NE(t.find("bees"), std::string::npos) << t;
  EXPECT_TRUE(texts["c"].empty());
}

TEST(SearchService, ASearchThatCannotStartBeforeItsDeadlineIsADeadlineInEveryMode) {
  RetrievalConfig c = config();
  c.search_threads = 1;
  Corpora corpus(c, 128);
  BuiltinEmbedding embedding(128, config().analyzer);
  SearchService search(c, corpus, embedding);
  LocalWriter writer(c, corpus, embedding, search.pool(), {});
  ASSERT_TRUE(writer.ingest_sync("t", kDocs));
  std::promise<void> release;
  asio::post(search.pool(), [held = release.get_future().share()] { held.wait(); });
  struct Release {
    std::promise<void>& p;
    ~Release() { p.set_value(); }  // before the pool is joined, whatever the test found
  } releaser{release};
  for (auto mode : {SearchMode::hybrid, SearchMode::dense, SearchMode::lexical}) {
    auto late = test::run_coro<Result<SearchResult>>([&](asio::io_context&) -> asio::awaitable<Result<SearchResult>> {
      co_return co_await search.retrieve("t", "volcano", 1, mode, 30ms);
    });
    ASSERT_FALSE(late) << to_string(mode);
    EXPECT_EQ(late.error().code, Errc::deadline_exceeded) << to_string(mode);
  }
}

TEST(SearchService, WithTheRemoteServiceDownAHybridSearchFallsBackToBm25AndADenseOneFails) {
  Corpora corpus(config(), 128);
  RemoteEmbedding embedding(std::make_shared<DownEmbedder>(), 1000ms);
  SearchService search(config(), corpus, embedding);
  LocalWriter writer(config(), corpus, embedding, search.pool(), {});
  ASSERT_TRUE(writer.ingest_sync("t", kDocs));
  auto hybrid = test::run_coro<Result<SearchResult>>([&](asio::io_context&) -> asio::awaitable<Result<SearchResult>> {
    co_return co_await search.retrieve("t", "magma lava", 1, SearchMode::hybrid);
  });
  ASSERT_TRUE(hybrid) << hybrid.error().message;
  EXPECT_TRUE(hybrid->degraded);
  EXPECT_EQ(hybrid->mode_used, SearchMode::lexical);
  ASSERT_EQ(hybrid->hits.size(), 1u);
  EXPECT_EQ(hybrid->hits[0].doc_id, "volcano");
  auto dense = test::run_coro<Result<SearchResult>>([&](asio::io_context&) -> asio::awaitable<Result<SearchResult>> {
    co_return co_await search.retrieve("t", "magma lava", 1, SearchMode::dense);
  });
  ASSERT_FALSE(dense);
  EXPECT_EQ(dense.error().code, Errc::unavailable);
  auto blocking = search.retrieve_sync("t", "magma lava", 1, SearchMode::hybrid);
  ASSERT_TRUE(blocking);
  EXPECT_TRUE(blocking->degraded);
  EXPECT_EQ(search.degraded_searches(), 2u);
}

TEST(SearchService, BlankQueriesAndAZeroTopKAreBadRequests) {
  Corpora corpus(config(), 128);
  BuiltinEmbedding embedding(128, config().analyzer);
  SearchService search(config(), corpus, embedding);
  for (auto mode : {SearchMode::hybrid, SearchMode::dense, SearchMode::lexical}) {
    auto blank = test::run_coro<Result<SearchResult>>([&](asio::io_context&) -> asio::awaitable<Result<SearchResult>> {
      co_return co_await search.retrieve("t", " \n", 3, mode);
    });
    ASSERT_FALSE(blank);
    EXPECT_EQ(blank.error().message, "query is empty");
    auto zero = search.retrieve_sync("t", "volcano", 0, mode);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().message, "top_k must be at least 1");
  }
}

}  // namespace
}  // namespace ragd::retrieval
