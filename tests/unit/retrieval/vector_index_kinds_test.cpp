// The three kinds of dense index (flat, hnsw, ivf) behind VectorIndex and the Retriever:
// the same contract for each, plus what is particular to each (HNSW tombstones and
// rebuilds, IVF training, HNSW recall against the exact answer).
#include "ragd/retrieval/retriever.hpp"

#include "random_vectors.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/vector_index.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

using namespace ragd;
using namespace ragd::retrieval;

namespace {

// Small parameters so that IVF trains and HNSW rebuilds within a test's few hundred vectors.
IndexConfig index_config(const std::string& type) {
  IndexConfig c;
  c.type = type;
  c.ivf_nlist = 4;
  c.ivf_nprobe = 4;  // every list: exact once trained, so results are comparable
  c.ivf_train_size = 200;
  return c;
}

using ragd::retrieval::testdata::id_range;
using ragd::retrieval::testdata::random_unit_vectors;

std::set<std::int64_t> ids_of(const std::vector<ScoredId>& hits) {
  std::set<std::int64_t> s;
  for (const auto& h : hits) s.insert(h.first);
  return s;
}

class EveryIndexType : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(EveryIndexType, FindsStoredVectorsAndNeverReturnsRemovedOnes) {
  constexpr int kDim = 32;
  constexpr std::size_t kN = 400;  // past the IVF training size
  VectorIndex index(kDim, index_config(GetParam()));
  const auto data = random_unit_vectors(kN, kDim, 1);
  ASSERT_TRUE(index.add(id_range(1000, kN), data.data(), kN));
  EXPECT_EQ(index.size(), kN);
  index.wait_for_rebuild();  // IVF trains on the side
  EXPECT_TRUE(index.stats().trained);

  // Each stored vector finds itself first.
  for (std::size_t i = 0; i < kN; i += 37) {
    auto hits = index.search(data.data() + i * kDim, 5);
    ASSERT_TRUE(hits);
    ASSERT_FALSE(hits->empty());
    EXPECT_EQ(hits->front().first, 1000 + static_cast<std::int64_t>(i)) << GetParam();
    EXPECT_NEAR(hits->front().second, 1.0f, 1e-4);
  }

  // Remove every other id: none of them ever comes back, at any depth.
  std::vector<std::int64_t> removed;
  for (std::size_t i = 0; i < kN; i += 2) removed.push_back(1000 + static_cast<std::int64_t>(i));
  auto n = index.remove(removed);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, removed.size());
  EXPECT_EQ(index.size(), kN - removed.size());
  const std::set<std::int64_t> gone(removed.begin(), removed.end());
  for (std::size_t i = 0; i < kN; i += 23) {
    auto hits = index.search(data.data() + i * kDim, 50);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->size(), 50u);  // still k results: the search looked past the deleted
    for (const auto& [id, score] : *hits) EXPECT_EQ(gone.count(id), 0u) << GetParam() << " returned " << id;
    EXPECT_FALSE(index.contains(1000 + static_cast<std::int64_t>(i & ~std::size_t{1})));
  }
  // Asking for more than exist gives the live ones: all of them where the search is
  // exhaustive, nearly all for HNSW (a graph walk need not reach every node) once its
  // rebuild is done (half the old graph is tombstones: walking it reaches fewer).
  index.wait_for_rebuild();
  auto all = index.search(data.data(), static_cast<int>(kN));
  ASSERT_TRUE(all);
  EXPECT_LE(all->size(), kN - removed.size());
  EXPECT_GE(all->size(), GetParam() == "hnsw" ? (kN - removed.size()) * 9 / 10 : kN - removed.size());
}

TEST_P(EveryIndexType, ReplacingAnIdMovesItToTheNewVector) {
  constexpr int kDim = 16;
  constexpr std::size_t kN = 300;
  VectorIndex index(kDim, index_config(GetParam()));
  const auto data = random_unit_vectors(kN, kDim, 2);
  ASSERT_TRUE(index.add(id_range(1, kN), data.data(), kN));
  // Id 1 takes vector 200's place twice over (two replaces); vector 200's own id stays.
  const auto fresh = random_unit_vectors(2, kDim, 3);
  ASSERT_TRUE(index.add({1}, fresh.data(), 1));
  ASSERT_TRUE(index.add({1}, fresh.data() + kDim, 1));
  EXPECT_EQ(index.size(), kN);
  auto hits = index.search(fresh.data() + kDim, 3);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->front().first, 1);
  auto old = index.search(data.data(), 10);
  ASSERT_TRUE(old);
  for (const auto& [id, score] : *old) {
    if (id == 1) {
      EXPECT_LT(score, 0.99f) << "the old vector of id 1 is still found";
    }
  }
  std::vector<float> back(kDim);
  ASSERT_TRUE(index.reconstruct({1}, back.data()));
  for (int j = 0; j < kDim; ++j) EXPECT_FLOAT_EQ(back[j], fresh[kDim + j]);
}

// The k best of `among` by a plain loop: what search_among must find.
std::vector<std::int64_t> exact_best_among(const std::vector<float>& data, int dim, std::int64_t first_id,
                                           const float* query, const std::vector<std::int64_t>& among, int k) {
  std::vector<std::pair<float, std::int64_t>> scored;
  for (auto id : among) {
    const float* v = data.data() + static_cast<std::size_t>(id - first_id) * static_cast<std::size_t>(dim);
    float s = 0;
    for (int j = 0; j < dim; ++j) s += v[j] * query[j];
    scored.emplace_back(-s, id);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::int64_t> best;
  for (int i = 0; i < k && i < static_cast<int>(scored.size()); ++i) best.push_back(scored[static_cast<std::size_t>(i)].second);
  return best;
}

TEST_P(EveryIndexType, SearchAmongReturnsTheBestOfTheSetOnlySmallOrLarge) {
  constexpr int kDim = 16;
  constexpr std::size_t kN = 12000;
  constexpr int kK = 10;
  VectorIndex index(kDim, index_config(GetParam()));
  const auto data = random_unit_vectors(kN, kDim, 4);
  ASSERT_TRUE(index.add(id_range(1, kN), data.data(), kN));
  index.wait_for_rebuild();
  // A removed id in the set is never returned.
  ASSERT_TRUE(index.remove({7}));
  // Small (scored exactly) and large (past kExactAmongMax: FAISS's own selection).
  for (std::size_t every : {std::size_t{97}, std::size_t{2}}) {
    std::vector<std::int64_t> among;
    for (std::size_t i = 0; i < kN; i += every) among.push_back(static_cast<std::int64_t>(i + 1));
    among.push_back(7);
    const IdSet set(among);
    ASSERT_EQ(set.size() > kExactAmongMax, every == 2);
    among.pop_back();
    std::size_t found = 0, expected = 0;
    for (std::size_t q = 3; q < kN; q += 1001) {
      const float* query = data.data() + q * kDim;
      auto hits = index.search_among(query, kK, set);
      ASSERT_TRUE(hits) << hits.error().message;
      EXPECT_EQ(hits->size(), static_cast<std::size_t>(kK)) << GetParam() << " every " << every;
      for (const auto& [id, score] : *hits) {
        ASSERT_TRUE(set.contains(id) && id != 7) << GetParam() << " returned " << id << ", not in the set";
      }
      const auto want = exact_best_among(data, kDim, 1, query, among, kK);
      const auto got = ids_of(*hits);
      for (auto id : want) found += got.count(id);
      expected += want.size();
    }
    // Exact for flat and IVF (every list probed); HNSW is a graph walk: nearly all.
    EXPECT_GE(found * 100, expected * (GetParam() == "hnsw" ? 90 : 100)) << GetParam() << " every " << every;
  }
  auto none = index.search_among(data.data(), kK, IdSet());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(EveryIndexType, RetrieverIngestsSearchesReplacesDeletesAndRestores) {
  test::TempDir dir;
  RetrievalConfig config;
  config.embedding_dim = 256;
  config.search_threads = 1;
  config.index = index_config(GetParam());
  config.snapshot_path = dir.path() + "/index.snap";
  std::vector<Document> docs;
  const char* topics[] = {"sourdough bread starter flour", "ocean tides moon gravity", "tcp handshake syn ack",
                          "honey bees waggle dance", "volcano magma eruption"};
  for (int i = 0; i < 250; ++i) {
    docs.push_back(Document{"doc" + std::to_string(i), "Title " + std::to_string(i),
                            std::string(topics[i % 5]) + " note number " + std::to_string(i) + " with words w" +
                                std::to_string(i * 7) + " and w" + std::to_string(i * 13)});
  }
  docs[3].metadata = R"({"lang":"en","year":2021})";
  std::vector<Hit> before;
  {
    Retriever r(config);
    ASSERT_TRUE(r.ingest_sync(docs));
    auto hits = r.search_sync("honey bees dance w21", 3, SearchMode::dense);
    ASSERT_TRUE(hits);
    ASSERT_FALSE(hits->empty());
    EXPECT_EQ(hits->front().doc_id, "doc3") << GetParam();
    EXPECT_EQ(hits->front().metadata, R"({"lang":"en","year":2021})");

    // Replace doc3 with other text: searches find the new text, never the old one.
    ASSERT_TRUE(r.ingest_sync({Document{"doc3", "Moved", "quantum chromodynamics gluon quark"}}));
    hits = r.search_sync("honey bees dance w21", 10, SearchMode::dense);
    ASSERT_TRUE(hits);
    for (const auto& h : *hits) EXPECT_NE(h.doc_id, "doc3");
    hits = r.search_sync("gluon quark", 1, SearchMode::dense);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->front().doc_id, "doc3");
    EXPECT_EQ(hits->front().metadata, "");

    // Delete a fifth of the documents: they are gone from every mode.
    for (int i = 0; i < 250; i += 5) ASSERT_TRUE(*r.remove_sync("doc" + std::to_string(i)));
    for (SearchMode mode : {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid}) {
      hits = r.search_sync("sourdough flour ocean tides moon gravity", 40, mode);
      ASSERT_TRUE(hits);
      EXPECT_FALSE(hits->empty());
      for (const auto& h : *hits) EXPECT_NE(std::stoi(h.doc_id.substr(3)) % 5, 0) << h.doc_id;
    }
    EXPECT_EQ(r.document_count(), 200u);
    before = *r.search_sync("ocean tides gravity w91", 5, SearchMode::hybrid);
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  // Restore into each kind: the same documents and, where exact, the same results.
  for (const std::string type : {"flat", "hnsw", "ivf"}) {
    RetrievalConfig c2 = config;
    c2.index = index_config(type);
    Retriever r(c2);
    auto loaded = r.load_snapshot();
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->documents, 200u);
    EXPECT_FALSE(r.document_sync("doc5").has_value());
    auto doc = r.document_sync("doc3");
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->text, "quantum chromodynamics gluon quark");
    EXPECT_EQ(doc->title, "Moved");
    auto after = r.search_sync("ocean tides gravity w91", 5, SearchMode::hybrid);
    ASSERT_TRUE(after);
    ASSERT_FALSE(after->empty());
    EXPECT_EQ(after->front().doc_id, before.front().doc_id) << GetParam() << " -> " << type;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, EveryIndexType, ::testing::Values("flat", "hnsw", "ivf"),
                         [](const auto& info) { return info.param; });

TEST(HnswIndex, RebuildsOnceTombstonesPassTheirShareAndKeepsAnswering) {
  constexpr int kDim = 16;
  IndexConfig c = index_config("hnsw");
  c.rebuild_deleted_fraction = 0.25;
  VectorIndex index(kDim, c);
  const auto data = random_unit_vectors(200, kDim, 4);
  ASSERT_TRUE(index.add(id_range(0, 200), data.data(), 200));
  ASSERT_TRUE(index.remove(id_range(0, 40)));  // 20%: below the share
  EXPECT_EQ(index.stats().tombstones, 40u);
  EXPECT_EQ(index.stats().rebuilds, 0u);
  ASSERT_TRUE(index.remove(id_range(40, 20)));  // 30%: rebuilt, on the side
  index.wait_for_rebuild();
  EXPECT_FALSE(index.stats().rebuilding);
  EXPECT_EQ(index.stats().tombstones, 0u);
  EXPECT_EQ(index.stats().rebuilds, 1u);
  EXPECT_EQ(index.size(), 140u);
  for (std::size_t i = 60; i < 200; i += 17) {
    auto hits = index.search(data.data() + i * kDim, 1);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->front().first, static_cast<std::int64_t>(i));
  }
  EXPECT_FALSE(index.contains(10));
}

TEST(IvfIndex, IsExactUntilTrainedThenTrainsOnce) {
  constexpr int kDim = 16;
  VectorIndex index(kDim, index_config("ivf"));
  const auto data = random_unit_vectors(300, kDim, 5);
  ASSERT_TRUE(index.add(id_range(0, 150), data.data(), 150));
  EXPECT_FALSE(index.stats().trained);
  auto hits = index.search(data.data() + 7 * kDim, 1);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->front().first, 7);
  ASSERT_TRUE(index.add(id_range(150, 150), data.data() + 150 * kDim, 150));
  index.wait_for_rebuild();
  EXPECT_TRUE(index.stats().trained);
  EXPECT_FALSE(index.stats().rebuilding);
  EXPECT_EQ(index.stats().rebuilds, 0u);  // training is not a rebuild
  EXPECT_EQ(index.size(), 300u);
  hits = index.search(data.data() + 250 * kDim, 1);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->front().first, 250);
  EXPECT_EQ(index.describe(), "ivf nlist=4");
}

// HNSW is approximate: with the default parameters it should still find the exact top 10
// for most queries on a few thousand vectors (random vectors are its hardest case).
TEST(HnswIndex, DefaultParametersFindTheExactTopTenForMostQueries) {
  constexpr int kDim = 64;
  constexpr std::size_t kN = 4000;
  constexpr std::size_t kQueries = 200;
  VectorIndex exact(kDim);
  VectorIndex hnsw(kDim, IndexConfig{.type = "hnsw"});
  const auto data = random_unit_vectors(kN, kDim, 6);
  ASSERT_TRUE(exact.add(id_range(0, kN), data.data(), kN));
  ASSERT_TRUE(hnsw.add(id_range(0, kN), data.data(), kN));
  const auto queries = random_unit_vectors(kQueries, kDim, 7);
  auto truth = exact.search_batch(queries.data(), kQueries, 10);
  auto found = hnsw.search_batch(queries.data(), kQueries, 10);
  ASSERT_TRUE(truth);
  ASSERT_TRUE(found);
  std::size_t exact_sets = 0, recalled = 0;
  for (std::size_t q = 0; q < kQueries; ++q) {
    const auto want = ids_of((*truth)[q]);
    std::size_t same = 0;
    for (auto id : ids_of((*found)[q])) same += want.count(id);
    recalled += same;
    exact_sets += same == 10;
  }
  const double recall = static_cast<double>(recalled) / (10.0 * kQueries);
  std::printf("hnsw recall@10 %.3f, exact top-10 for %zu of %zu queries\n", recall, exact_sets, kQueries);
  EXPECT_GE(recall, 0.95);
  EXPECT_GE(exact_sets, kQueries * 6 / 10);
}

// Concurrent searches on flat and IVF indexes are answered in batches (one FAISS call for
// all that wait together); each must get exactly what it would have got alone.
TEST(BatchedSearches, ConcurrentSearchesGetTheSameHitsAsOneAtATime) {
  for (const std::string type : {"flat", "ivf"}) {
    RetrievalConfig config;
    config.embedding_dim = 256;
    config.search_threads = 2;
    config.index = index_config(type);
    Retriever r(config);
    std::vector<Document> docs;
    for (int i = 0; i < 300; ++i) {
      docs.push_back(Document{"doc" + std::to_string(i), "",
                              "topic t" + std::to_string(i % 17) + " item w" + std::to_string(i) + " and w" +
                                  std::to_string((i * 7) % 300) + " about k" + std::to_string(i % 5)});
    }
    ASSERT_TRUE(r.ingest_sync(docs));
    r.vector_index().wait_for_rebuild();  // compare like with like: IVF trained
    struct Case {
      std::string query;
      int top_k;
      SearchMode mode;
    };
    std::vector<Case> cases;
    for (int i = 0; i < 48; ++i) {
      cases.push_back({"t" + std::to_string(i % 17) + " w" + std::to_string(i * 5) + " k" + std::to_string(i % 5),
                       1 + i % 7, i % 2 == 0 ? SearchMode::dense : SearchMode::hybrid});
    }
    cases.push_back({"zzzz-unknown", 3, SearchMode::dense});  // no searchable word: empty
    std::vector<std::vector<Hit>> got(cases.size());
    std::size_t done = 0;
    boost::asio::io_context io;
    // No captures: a coroutine lambda's captures die with the closure, its parameters do not.
    auto one = [](Retriever& r, Case c, std::vector<Hit>& out, std::size_t& done) -> boost::asio::awaitable<void> {
      auto hits = co_await r.search(c.query, c.top_k, c.mode);
      if (hits) {
        out = std::move(*hits);
      } else {
        ADD_FAILURE() << c.query << ": " << hits.error().message;
      }
      ++done;
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
      boost::asio::co_spawn(io, one(r, cases[i], got[i], done), boost::asio::detached);
    }
    io.run_for(std::chrono::seconds(30));
    ASSERT_EQ(done, cases.size()) << type;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      auto alone = r.search_sync(cases[i].query, cases[i].top_k, cases[i].mode);
      ASSERT_TRUE(alone);
      EXPECT_EQ(got[i].size(), alone->size()) << type << " " << cases[i].query;
      if (got[i].size() != alone->size()) continue;
      for (std::size_t j = 0; j < got[i].size(); ++j) {
        EXPECT_EQ(got[i][j].chunk_id, (*alone)[j].chunk_id) << type << " " << cases[i].query << " #" << j;
        EXPECT_NEAR(got[i][j].score, (*alone)[j].score, 1e-4);
      }
    }
  }
}


// Snapshots written before documents were stored still load: each document's text is
// pieced together from its chunks, and its title taken from theirs.
TEST(DocumentStore, SnapshotsWithoutDocumentsRebuildTextsFromChunks) {
  test::TempDir dir;
  RetrievalConfig config;
  config.embedding_dim = 64;
  config.chunker.target_chars = 200;
  config.chunker.overlap_chars = 40;
  config.snapshot_path = dir.path() + "/old.snap";
  std::string text;
  for (int p = 0; p < 6; ++p) {
    text += "Paragraph " + std::to_string(p) + " says something about topic " + std::to_string(p * 11) +
            ", at some length so that the chunker has to cut the document into several pieces.";
    if (p < 5) text += "\n\n";
  }
  {
    Retriever r(config);
    ASSERT_TRUE(r.ingest_sync({Document{"long", "A long one", text, R"({"k":"v"})"}}));
    ASSERT_GT(r.document_sync("long")->chunks, 2u);
    ASSERT_TRUE(r.save_snapshot_sync());
  }
  auto data = read_snapshot_file(config.snapshot_path);
  ASSERT_TRUE(data);
  ASSERT_EQ(data->tenants.size(), 1u);
  ASSERT_EQ(data->tenants[0].documents.size(), 1u);
  EXPECT_EQ(data->tenants[0].documents.front().metadata, R"({"k":"v"})");
  data->tenants[0].documents.clear();
  ASSERT_TRUE(write_file_atomically(config.snapshot_path, encode_snapshot(*data)));

  Retriever restored(config);
  ASSERT_TRUE(restored.load_snapshot());
  auto doc = restored.document_sync("long");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->title, "A long one");
  EXPECT_EQ(doc->metadata, "");
  for (int p = 0; p < 6; ++p) {
    const std::string paragraph = "Paragraph " + std::to_string(p) + " says something about topic " +
                                  std::to_string(p * 11);
    EXPECT_NE(doc->text.find(paragraph), std::string::npos) << doc->text;
  }
  EXPECT_LE(doc->text.size(), text.size() + 8);
}
