#include "ragd/retrieval/snapshot_keeper.hpp"

#include "ragd/retrieval/retriever.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/text_analysis.hpp"
#include "test_support.hpp"

#include "format1_snapshot.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <thread>

using namespace ragd;
using namespace ragd::retrieval;
namespace fs = std::filesystem;

namespace {

RetrievalConfig snapshot_config(const std::string& path) {
  RetrievalConfig c;
  c.embedding_dim = 64;
  c.chunker.target_chars = 200;
  c.chunker.overlap_chars = 40;
  c.snapshot_path = path;
  c.snapshot_interval_ms = 20;
  return c;
}

std::vector<Document> documents() {
  return {
      {"bees", "Honey bees",
       "A honey bee colony has one queen and thousands of worker bees. Worker bees perform the "
       "waggle dance to tell their sisters the direction and distance of flowers.\n\n"
       "A strong colony can produce more than 25 kilograms of surplus honey in a season."},
      {"tides", "Ocean tides",
       "Tides are caused mainly by the gravitational pull of the Moon on the oceans. Spring tides "
       "happen at new and full moon, neap tides at the quarter moons."},
      {"chess", "Chess openings",
       "The Sicilian Defence begins with 1.e4 c5. The Queen's Gambit starts with 1.d4 d5 2.c4; "
       "castling moves the king two squares toward a rook."},
  };
}

const std::vector<std::string> kQueries = {"how do bees tell where flowers are", "what causes tides",
                                           "queen's gambit opening moves", "honey production"};

std::vector<std::vector<Hit>> all_results(const Retriever& r) {
  std::vector<std::vector<Hit>> out;
  for (const auto& q : kQueries) {
    for (SearchMode mode : {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid}) {
      auto hits = r.search_sync(q, 5, mode);
      EXPECT_TRUE(hits) << q;
      out.push_back(hits ? *hits : std::vector<Hit>{});
    }
  }
  return out;
}

void expect_same_hits(const std::vector<std::vector<Hit>>& a, const std::vector<std::vector<Hit>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size()) << i;
    for (std::size_t j = 0; j < a[i].size(); ++j) {
      EXPECT_EQ(a[i][j].chunk_id, b[i][j].chunk_id);
      EXPECT_EQ(a[i][j].text, b[i][j].text);
      EXPECT_EQ(a[i][j].title, b[i][j].title);
      EXPECT_DOUBLE_EQ(a[i][j].score, b[i][j].score);
    }
  }
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Indexes documents() into a snapshot at `path` with the default analyser; its contents.
Result<SnapshotData> save_documents(const std::string& path) {
  {
    Retriever r(snapshot_config(path));
    if (auto ingested = r.ingest_sync(documents()); !ingested) return ingested.error();
    if (auto saved = r.save_snapshot_sync(); !saved) return saved.error();
  }
  return read_snapshot_file(path);
}

}  // namespace

TEST(SnapshotKeeper, RoundTripGivesIdenticalSearchResults) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  std::vector<std::vector<Hit>> before;
  std::uint64_t version = 0;
  {
    Retriever r(snapshot_config(path));
    ASSERT_TRUE(r.ingest_sync(documents()));
    ASSERT_TRUE(r.remove_sync("chess"));
    ASSERT_TRUE(r.ingest_sync({documents()[2]}));
    before = all_results(r);
    version = r.version();
    auto saved = r.save_snapshot_sync();
    ASSERT_TRUE(saved) << saved.error().message;
    EXPECT_FALSE(saved->skipped);
    EXPECT_EQ(saved->documents, 3u);
    EXPECT_EQ(saved->bytes, fs::file_size(path));
    EXPECT_TRUE(r.save_snapshot_sync()->skipped);  // nothing changed since
  }
  Retriever loaded(snapshot_config(path));
  auto stats = loaded.load_snapshot();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_FALSE(stats->reembedded);
  EXPECT_EQ(loaded.document_count(), 3u);
  EXPECT_EQ(loaded.version(), version);
  expect_same_hits(before, all_results(loaded));

  // New chunks get fresh keys: re-ingesting after a load replaces cleanly.
  ASSERT_TRUE(loaded.ingest_sync({documents()[0]}));
  EXPECT_EQ(loaded.document_count(), 3u);
  auto hits = loaded.search_sync("waggle dance", 3, SearchMode::lexical);
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().doc_id, "bees");
}

TEST(SnapshotKeeper, AnotherEmbeddingSizeIsReembeddedOnLoad) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  {
    Retriever r(snapshot_config(path));
    ASSERT_TRUE(r.ingest_sync(documents()));
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  auto config = snapshot_config(path);
  config.embedding_dim = 128;
  Retriever loaded(config);
  auto stats = loaded.load_snapshot();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->reembedded);
  auto hits = loaded.search_sync("what causes tides", 1, SearchMode::dense);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().doc_id, "tides");
}

// The analyser decides the hash embedder's vectors and the BM25 terms: a file indexed with
// another one (here, with stop words kept) is re-indexed at load, so its searches are
// those of a fresh ingest under the running analyser, and the next save records it.
TEST(SnapshotKeeper, AnotherAnalyzerIsReindexedOnLoad) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  auto file = save_documents(path);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->analyzer, TextAnalyzer().identity());

  auto config = snapshot_config(path);
  config.analyzer.stop_words = false;
  Retriever loaded(config);
  auto stats = loaded.load_snapshot();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->reembedded);
  auto fresh_config = config;
  fresh_config.snapshot_path.clear();
  Retriever fresh(fresh_config);
  ASSERT_TRUE(fresh.ingest_sync(documents()));
  expect_same_hits(all_results(fresh), all_results(loaded));

  auto saved = loaded.save_snapshot_sync();
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_FALSE(saved->skipped);
  file = read_snapshot_file(path);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->analyzer, TextAnalyzer(config.analyzer).identity());
}

// Files written before snapshots recorded the analyser were made by the version 1 one:
// loaded, they are re-indexed with the running analyser.
TEST(SnapshotKeeper, AFileWithoutAnAnalyzerIsReindexedOnLoad) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  auto file = save_documents(path);
  ASSERT_TRUE(file) << file.error().message;
  file->analyzer.clear();
  write_all(path, encode_snapshot(*file));
  ASSERT_TRUE(read_snapshot_file(path)->analyzer.empty());

  Retriever loaded(snapshot_config(path));
  auto stats = loaded.load_snapshot();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->reembedded);
  EXPECT_EQ(loaded.document_count(), 3u);
  auto hits = loaded.search_sync("what causes tides", 1, SearchMode::hybrid);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().doc_id, "tides");
  ASSERT_TRUE(loaded.save_snapshot_sync());
  EXPECT_EQ(read_snapshot_file(path)->analyzer, TextAnalyzer().identity());
}

TEST(SnapshotKeeper, MissingFileStartsEmpty) {
  test::TempDir dir;
  Retriever r(snapshot_config(dir.path() + "/none.snap"));
  auto loaded = r.load_snapshot();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::not_found);
  EXPECT_EQ(r.chunk_count(), 0u);
}

TEST(SnapshotKeeper, TruncatedOrCorruptFilesFailCleanlyAndAreKept) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  {
    Retriever r(snapshot_config(path));
    ASSERT_TRUE(r.ingest_sync(documents()));
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  const std::string good = read_all(path);
  ASSERT_GT(good.size(), 100u);

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  const std::vector<std::string> bad = {
      good.substr(0, good.size() / 2),      // cut in the middle
      good.substr(0, good.size() - 1),      // last byte missing
      flipped,                               // one bit flipped
      std::string("RAGDSNAP"),              // header only
      std::string("not a snapshot at all"),  // wrong magic
      std::string(),                         // empty file
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    write_all(path, bad[i]);
    Retriever r(snapshot_config(path));
    auto loaded = r.load_snapshot();
    ASSERT_FALSE(loaded) << "case " << i;
    EXPECT_EQ(loaded.error().code, Errc::internal) << "case " << i;
    EXPECT_EQ(r.chunk_count(), 0u);
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(read_all(path + ".corrupt"), bad[i]) << "a corrupt snapshot is kept for inspection";
    auto hits = r.search_sync("bees", 3);
    ASSERT_TRUE(hits);
    EXPECT_TRUE(hits->empty());
  }
  EXPECT_FALSE(decode_snapshot(bad[1]));
  EXPECT_TRUE(decode_snapshot(good));
}

TEST(SnapshotKeeper, CrashBeforeRenameLeavesTheOldSnapshotLoadable) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  {
    Retriever r(snapshot_config(path));
    ASSERT_TRUE(r.ingest_sync(documents()));
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  // A crash after writing part of the next snapshot, before its rename.
  write_all(path + ".tmp", "RAGDSNAP garbage from an interrupted save");
  {
    Retriever r(snapshot_config(path));
    auto loaded = r.load_snapshot();
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->documents, 3u);
    // The next save overwrites the stale .tmp and replaces the snapshot.
    ASSERT_TRUE(r.remove_sync("tides"));
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  Retriever r(snapshot_config(path));
  ASSERT_TRUE(r.load_snapshot());
  EXPECT_EQ(r.document_count(), 2u);
}

TEST(SnapshotKeeper, IngestsAreSavedInABatchAfterTheInterval) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  {
    Retriever r(snapshot_config(path));
    auto docs = documents();
    auto first = test::run_coro<Result<IngestStats>>(
        [&](boost::asio::io_context&) { return r.ingest({docs[0], docs[1]}); });
    ASSERT_TRUE(first);
    auto second = test::run_coro<Result<IngestStats>>(
        [&](boost::asio::io_context&) { return r.ingest({docs[2]}); });
    ASSERT_TRUE(second);
    // The timer saves on its own; wait for it rather than for the destructor's flush.
    for (int i = 0; i < 200 && !fs::exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(fs::exists(path));
    for (int i = 0; i < 200; ++i) {
      auto data = read_snapshot_file(path);
      if (data && data->tenants.size() == 1 && data->tenants[0].index_version == r.version()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto data = read_snapshot_file(path);
    ASSERT_TRUE(data);
    ASSERT_EQ(data->tenants.size(), 1u);
    EXPECT_EQ(data->tenants[0].index_version, r.version());
  }
  Retriever loaded(snapshot_config(path));
  ASSERT_TRUE(loaded.load_snapshot());
  EXPECT_EQ(loaded.document_count(), 3u);
}

TEST(SnapshotKeeper, DestructorSavesUnsavedChanges) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  {
    auto config = snapshot_config(path);
    config.snapshot_interval_ms = 60000;
    Retriever r(config);
    ASSERT_TRUE(r.ingest_sync(documents()));
  }
  Retriever loaded(snapshot_config(path));
  ASSERT_TRUE(loaded.load_snapshot());
  EXPECT_EQ(loaded.document_count(), 3u);
}

TEST(SnapshotKeeper, WithoutAPathNothingIsWritten) {
  RetrievalConfig c;
  c.embedding_dim = 32;
  Retriever r(c);
  ASSERT_TRUE(r.ingest_sync(documents()));
  auto saved = r.save_snapshot_sync();
  ASSERT_TRUE(saved);
  EXPECT_TRUE(saved->skipped);
  auto loaded = r.load_snapshot();
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(loaded->skipped);
}

// Several tenants go through a save and a load each with their own documents (the same id
// in two of them), versions and searches.
TEST(SnapshotKeeper, EveryTenantsDocumentsAndVersionSurviveARoundTrip) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  {
    Retriever r(snapshot_config(path));
    ASSERT_TRUE(r.ingest_sync("a", {documents()[0]}));
    ASSERT_TRUE(r.ingest_sync("a", {documents()[1]}));
    ASSERT_TRUE(r.ingest_sync("b", {{"bees", "B's bees", "Tenant b keeps its own notes about bumblebees."}}));
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  Retriever loaded(snapshot_config(path));
  auto stats = loaded.load_snapshot();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->tenants, 2u);
  EXPECT_EQ(loaded.version("a"), 2u);
  EXPECT_EQ(loaded.version("b"), 1u);
  EXPECT_EQ(loaded.document_sync("a", "bees")->title, "Honey bees");
  EXPECT_EQ(loaded.document_sync("b", "bees")->title, "B's bees");
  EXPECT_FALSE(loaded.document_sync("bees")) << "the default tenant got another tenant's document";
  auto b_hits = loaded.retrieve_sync("b", "how do bees tell where flowers are", 5, SearchMode::hybrid);
  ASSERT_TRUE(b_hits);
  ASSERT_EQ(b_hits->hits.size(), 1u);
  EXPECT_EQ(b_hits->hits[0].title, "B's bees");
}

// A file written before tenants (format 1) loads into the tenant "default": its documents
// are the default tenant's, nobody else's, and the next save writes the current format.
TEST(SnapshotKeeper, AFileOfFormatOneLoadsIntoTheDefaultTenant) {
  test::TempDir dir;
  const std::string path = dir.path() + "/index.snap";
  test::Format1Corpus old;
  old.index_version = 4;
  old.stream_id = "1700000000000-4";
  old.sequence = 4;
  const std::string text = "Tides are caused mainly by the gravitational pull of the Moon on the oceans.";
  old.documents.push_back(StoredDocument{"tides", "Ocean tides", "", text, 1});
  old.chunks.push_back(Chunk{1, "tides", "tides#0", "Ocean tides", text, 0, 0});
  write_all(path, test::format1_snapshot(old));

  Retriever r(snapshot_config(path));
  auto stats = r.load_snapshot();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->reembedded) << "its 4-float vectors were kept for a 64-float index";
  EXPECT_EQ(r.version(), 4u);
  EXPECT_EQ(r.change_position().sequence, 4u);
  EXPECT_EQ(r.document_sync("tides")->title, "Ocean tides");
  EXPECT_FALSE(r.document_sync("a", "tides"));
  auto mine = r.retrieve_sync("what causes tides", 1, SearchMode::hybrid);
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->hits.size(), 1u);
  auto theirs = r.retrieve_sync("a", "what causes tides", 1, SearchMode::hybrid);
  ASSERT_TRUE(theirs);
  EXPECT_TRUE(theirs->hits.empty());

  ASSERT_TRUE(r.save_snapshot_sync());
  const std::string saved = read_all(path);
  ASSERT_GT(saved.size(), 12u);
  std::uint32_t format = 0;
  std::memcpy(&format, saved.data() + 8, sizeof format);
  EXPECT_EQ(format, kSnapshotFormatVersion);
  auto reread = read_snapshot_file(path);
  ASSERT_TRUE(reread);
  ASSERT_EQ(reread->tenants.size(), 1u);
  EXPECT_EQ(reread->tenants[0].tenant, "default");
}
