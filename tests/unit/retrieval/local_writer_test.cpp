#include "ragd/retrieval/local_writer.hpp"

#include "ragd/retrieval/corpora.hpp"
#include "ragd/retrieval/embedding_strategy.hpp"
#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace ragd::retrieval {
namespace {

namespace asio = boost::asio;

RetrievalConfig config() {
  RetrievalConfig c;
  c.embedding_dim = 64;
  c.max_documents_per_request = 2;
  return c;
}

// Corpora with their write path, as the Retriever wires them (the pool its own here).
struct Store {
  Store() : corpora(config(), 64), embedding(64, config().analyzer), pool(1), writer(config(), corpora, embedding, pool.get_executor(), [this] {
    ++changes;
  }) {}
  ~Store() { pool.join(); }
  Corpora corpora;
  BuiltinEmbedding embedding;
  asio::thread_pool pool;
  std::atomic<int> changes{0};
  LocalWriter writer;
};

TEST(LocalWriter, IngestsOnThePoolAndReportsTheChange) {
  Store s;
  auto stats = test::run_coro<Result<IngestStats>>([&](asio::io_context&) -> asio::awaitable<Result<IngestStats>> {
    std::vector<Document> docs = {{"volcano", "Volcanoes", "Magma rises through the crust."}};
    co_return co_await s.writer.ingest("t", std::move(docs));
  });
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->documents, 1u);
  EXPECT_EQ(stats->index_version, 1u);
  EXPECT_EQ(s.corpora.document("t", "volcano")->title, "Volcanoes");
  EXPECT_EQ(s.changes.load(), 1);
}

TEST(LocalWriter, DocumentIdsThatAreBlankOrHoldControlCharactersStoreNothing) {
  Store s;
  for (std::string id : {std::string(" \t"), std::string("   "), std::string("a\0b", 3), std::string("\x1b[2J"),
                         std::string("two\nlines")}) {
    auto stats = test::run_coro<Result<IngestStats>>([&](asio::io_context&) -> asio::awaitable<Result<IngestStats>> {
      std::vector<Document> docs = {{"fine", "", "A good document."}, {id, "", "text"}};
      co_return co_await s.writer.ingest("t", std::move(docs));
    });
    ASSERT_FALSE(stats);
    EXPECT_EQ(stats.error().code, Errc::bad_request);
    EXPECT_EQ(stats.error().message.rfind("documents[1].id ", 0), 0u) << stats.error().message;
    EXPECT_FALSE(s.writer.ingest_sync("t", std::vector<Document>{{id, "", "text"}})) << "a tool's ingest took the id";
  }
  auto removed = test::run_coro<Result<RemoveResult>>([&](asio::io_context&) -> asio::awaitable<Result<RemoveResult>> {
    co_return co_await s.writer.remove("t", "bad\nid");
  });
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().message, "document id contains a control character (0x0a)");
  EXPECT_EQ(s.corpora.document_count(), 0u);
  EXPECT_EQ(s.corpora.version("t"), 0u);
  EXPECT_EQ(s.changes.load(), 0);
}

TEST(LocalWriter, TheRequestLimitAppliesToRequestsNotToToolsOrLogEntries) {
  Store s;
  std::vector<Document> three = {{"a", "", "alpha"}, {"b", "", "beta"}, {"c", "", "gamma"}};
  auto refused = test::run_coro<Result<IngestStats>>([&](asio::io_context&) -> asio::awaitable<Result<IngestStats>> {
    co_return co_await s.writer.ingest("t", three);
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "documents holds 3 documents; at most 2 are accepted per request");
  auto tool = s.writer.ingest_sync("t", three);
  ASSERT_TRUE(tool) << tool.error().message;
  auto applied = test::run_coro<Result<IngestStats>>([&](asio::io_context&) -> asio::awaitable<Result<IngestStats>> {
    std::vector<Document> docs = {{"d", "", "delta"}, {"e", "", "epsilon"}, {"f", "", "zeta"}};
    // Built first: GCC 12 destroys temporaries in a co_await's operand twice.
    ChangePosition at{"1700000000000-0", 9};
    co_return co_await s.writer.apply("t", std::move(docs), std::move(at));
  });
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(applied->index_version, 9u);
  EXPECT_EQ(s.writer.position().sequence, 9u);
  EXPECT_EQ(s.writer.document_count(), 6u);
}

TEST(LocalWriter, ARemoveAnswersWhetherTheDocumentWasThereWithTheVersionAfterIt) {
  Store s;
  ASSERT_TRUE(s.writer.ingest_sync("t", std::vector<Document>{{"docs/operations.md", "", "How to run it."}}));
  auto first = test::run_coro<Result<RemoveResult>>([&](asio::io_context&) -> asio::awaitable<Result<RemoveResult>> {
    co_return co_await s.writer.remove("t", "docs/operations.md");
  });
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->removed);
  EXPECT_EQ(first->index_version, 2u);
  auto again = test::run_coro<Result<RemoveResult>>([&](asio::io_context&) -> asio::awaitable<Result<RemoveResult>> {
    co_return co_await s.writer.remove("t", "docs/operations.md");
  });
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->removed);
  EXPECT_EQ(again->index_version, 2u);
  EXPECT_EQ(s.changes.load(), 1) << "a remove that changed nothing scheduled a snapshot";
}

}  // namespace
}  // namespace ragd::retrieval
