#include "ragd/retrieval/corpora.hpp"

#include "ragd/retrieval/embedding_strategy.hpp"
#include "ragd/retrieval/local_writer.hpp"

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace ragd::retrieval {
namespace {

constexpr int kDim = 64;

RetrievalConfig config() {
  RetrievalConfig c;
  c.embedding_dim = kDim;
  return c;
}

// Corpora with the write path that prepares their batches (synchronous forms only).
struct Registry {
  Registry() : corpora(config(), kDim), embedding(kDim, config().analyzer), pool(1),
               writer(config(), corpora, embedding, pool.get_executor(), {}) {}
  ~Registry() { pool.join(); }
  Corpora corpora;
  BuiltinEmbedding embedding;
  boost::asio::thread_pool pool;
  LocalWriter writer;
};

std::string text_of(const Corpora& corpora, std::string_view tenant, const std::string& id) {
  auto doc = corpora.document(tenant, id);
  return doc ? doc->text : "<none>";
}

TEST(Corpora, ATenantsCorpusComesWithItsFirstWriteAndHoldsOnlyItsDocuments) {
  Registry r;
  EXPECT_EQ(r.corpora.find("a"), nullptr);
  ASSERT_TRUE(r.writer.ingest_sync("a", {{"guide.md", "", "Tenant a's guide to volcanoes."}}));
  ASSERT_TRUE(r.writer.ingest_sync("b", {{"guide.md", "", "Tenant b's guide to bees."}}));
  ASSERT_NE(r.corpora.find("a"), nullptr);
  EXPECT_EQ(r.corpora.find("c"), nullptr) << "a tenant that never wrote has no corpus";
  EXPECT_EQ(text_of(r.corpora, "a", "guide.md"), "Tenant a's guide to volcanoes.");
  EXPECT_EQ(text_of(r.corpora, "b", "guide.md"), "Tenant b's guide to bees.");
  EXPECT_EQ(text_of(r.corpora, "c", "guide.md"), "<none>");
  EXPECT_EQ(r.corpora.find("a")->chunk_count(), 1u);
  EXPECT_EQ(r.corpora.document_count(), 2u);
  EXPECT_EQ(r.corpora.chunk_count(), 2u);
  EXPECT_EQ(r.corpora.tenant_count(), 2u);

  // Removing b's guide leaves a's.
  auto removed = r.writer.remove_sync("b", "guide.md");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_EQ(text_of(r.corpora, "a", "guide.md"), "Tenant a's guide to volcanoes.");
  auto again = r.writer.remove_sync("c", "guide.md");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again) << "a tenant without documents removed one";
  EXPECT_EQ(r.corpora.find("c"), nullptr) << "a remove created a corpus";
}

// Each tenant's version moves with its own changes only: another tenant's ingest leaves
// it, and so the tenant's answer-cache keys, alone.
TEST(Corpora, EachTenantsVersionMovesWithItsOwnChangesOnly) {
  Registry r;
  ASSERT_TRUE(r.writer.ingest_sync("a", {{"one", "", "First."}}));
  ASSERT_TRUE(r.writer.ingest_sync("b", {{"one", "", "First of b."}}));
  EXPECT_EQ(r.corpora.version("a"), 1u);
  EXPECT_EQ(r.corpora.version("b"), 1u);
  ASSERT_TRUE(r.writer.ingest_sync("b", {{"two", "", "Second of b."}}));
  EXPECT_EQ(r.corpora.version("a"), 1u);
  EXPECT_EQ(r.corpora.version("b"), 2u);
  EXPECT_EQ(r.corpora.version("nobody"), 0u);
  EXPECT_EQ(r.corpora.max_version(), 2u);
}

// Changes of the one ordered log (all tenants) move the one position; each tenant's version
// takes the sequence of the entries that changed it, so replicas that applied the same
// entries agree on every tenant's version.
TEST(Corpora, ChangesAtLogPositionsMoveOnePositionAndEachTenantsVersion) {
  Registry r;
  const ChangePosition first{"1700000000000-0", 1}, second{"1700000000000-1", 2}, third{"1700000000000-2", 3};
  ASSERT_TRUE(r.writer.ingest_sync("a", {{"x", "", "Alpha."}}, &first));
  ASSERT_TRUE(r.writer.ingest_sync("b", {{"x", "", "Beta."}}, &second));
  EXPECT_EQ(r.corpora.version("a"), 1u);
  EXPECT_EQ(r.corpora.version("b"), 2u);
  EXPECT_EQ(r.corpora.position().sequence, 2u);
  const auto changes = r.corpora.changes();
  // A remove for a tenant with no corpus still records where the log stands.
  ASSERT_TRUE(r.writer.remove_sync("c", "x", &third));
  EXPECT_EQ(r.corpora.position().stream_id, third.stream_id);
  EXPECT_GT(r.corpora.changes(), changes) << "the new position would not be saved";
}

// A snapshot holds every tenant and the one position; restored, each tenant has its own
// documents, version and searches again.
TEST(Corpora, ASnapshotRestoresEveryTenantApartWithThePosition) {
  Registry r;
  const ChangePosition first{"1700000000000-0", 1}, second{"1700000000000-1", 2};
  ASSERT_TRUE(r.writer.ingest_sync("b", {{"guide.md", "", "Honey bees dance for their hive."}}, &first));
  ASSERT_TRUE(r.writer.ingest_sync("a", {{"guide.md", "", "Magma rises through the crust."}}, &second));
  std::uint64_t changes = 0;
  auto data = r.corpora.snapshot({kDim, 1}, &changes);
  ASSERT_TRUE(data) << data.error().message;
  EXPECT_EQ(changes, r.corpora.changes());
  ASSERT_EQ(data->tenants.size(), 2u);
  EXPECT_EQ(data->tenants[0].tenant, "a") << "tenants in name order";

  Corpora back(config(), kDim);
  ASSERT_TRUE(back.restore(decode_snapshot(encode_snapshot(*data)).value()));
  EXPECT_EQ(back.position().sequence, 2u);
  EXPECT_EQ(back.version("a"), 2u);
  EXPECT_EQ(back.version("b"), 1u);
  EXPECT_EQ(text_of(back, "a", "guide.md"), "Magma rises through the crust.");
  EXPECT_EQ(text_of(back, "b", "guide.md"), "Honey bees dance for their hive.");
  AnalyzedText terms;
  back.analyzer().analyze("magma bees", terms);
  auto hits = back.find("b")->search(terms, {}, 5, SearchMode::lexical);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().text, "Honey bees dance for their hive.");

  auto again = back.snapshot({kDim, 1});
  ASSERT_TRUE(again);
  EXPECT_FALSE(r.corpora.restore(std::move(*again))) << "restored over corpora that hold tenants";
}

// A snapshot is one cut: taken while changes of several tenants are applied, it holds
// exactly the changes up to its position, none half-applied and none beyond, so a restart
// that resumes after that position neither repeats nor skips one.
TEST(Corpora, ASnapshotTakenDuringChangesHoldsExactlyTheChangesUpToItsPosition) {
  Registry r;
  constexpr std::uint64_t kEntries = 200;
  std::thread writer([&r] {
    for (std::uint64_t seq = 1; seq <= kEntries; ++seq) {
      const ChangePosition at{"1700000000000-" + std::to_string(seq), seq};
      const std::string tenant = seq % 3 == 0 ? "a" : seq % 3 == 1 ? "b" : "c";
      ASSERT_TRUE(r.writer.ingest_sync(tenant, {{"d" + std::to_string(seq), "", "Entry number " + std::to_string(seq)}}, &at));
    }
  });
  int snapshots = 0;
  std::uint64_t last = 0;
  while (last < kEntries) {
    auto data = r.corpora.snapshot({kDim, 1});
    ASSERT_TRUE(data) << data.error().message;
    // Each entry added one document: the cut holds as many as its sequence says.
    EXPECT_EQ(data->document_count(), data->replication_sequence);
    for (const TenantSnapshot& t : data->tenants) {
      for (const StoredDocument& d : t.documents) {
        EXPECT_LE(std::stoull(d.id.substr(1)), data->replication_sequence) << t.tenant << " " << d.id;
      }
    }
    last = data->replication_sequence;
    ++snapshots;
  }
  writer.join();
  EXPECT_GT(snapshots, 1);
}

}  // namespace
}  // namespace ragd::retrieval
