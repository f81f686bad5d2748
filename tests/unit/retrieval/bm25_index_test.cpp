#include "ragd/retrieval/bm25_index.hpp"

#include "ragd/retrieval/text_analysis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

using namespace ragd::retrieval;

namespace {

std::vector<std::int64_t> ids_of(const std::vector<ScoredId>& hits) {
  std::vector<std::int64_t> ids;
  for (const auto& [id, score] : hits) ids.push_back(id);
  return ids;
}

}  // namespace

TEST(Bm25Index, ScoresMatchTheFormulaOnAHandComputedExample) {
  Bm25Index index(Bm25Params{1.2, 0.75});
  index.add(1, "apple banana apple");  // terms: appl banana appl (length 3)
  index.add(2, "banana cherry");       // length 2
  index.add(3, "cherry date fig");     // length 3
  const auto hits = index.search("apple", 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].first, 1);
  // N = 3, df = 1, avgdl = 8/3, tf = 2, |d| = 3.
  const double idf = std::log(1.0 + (3 - 1 + 0.5) / (1 + 0.5));
  const double norm = 1.2 * (1 - 0.75 + 0.75 * 3.0 / (8.0 / 3.0));
  const double expected = idf * 2 * (1.2 + 1) / (2 + norm);
  EXPECT_NEAR(hits[0].second, expected, 1e-4);
}

TEST(Bm25Index, RareTermsAndShorterDocumentsRankFirst) {
  Bm25Index index;
  index.add(10, "the volcano erupted and the ash cloud closed the airspace");
  index.add(11, "a volcano is a mountain");
  index.add(12, "the mountain trail is closed in winter");
  const auto hits = index.search("volcano ash", 10);
  ASSERT_EQ(ids_of(hits), (std::vector<std::int64_t>{10, 11}));
  EXPECT_GT(hits[0].second, hits[1].second);
  EXPECT_EQ(ids_of(index.search("mountain", 10)), (std::vector<std::int64_t>{11, 12}));
}

TEST(Bm25Index, StemmingMatchesInflectedForms) {
  Bm25Index index;
  index.add(1, "Caching answers in Redis");
  index.add(2, "Queues of jobs");
  EXPECT_EQ(ids_of(index.search("cached answer", 5)), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(ids_of(index.search("job queue", 5)), (std::vector<std::int64_t>{2}));
}

TEST(Bm25Index, ReplaceAndRemoveUpdateResultsAndStatistics) {
  Bm25Index index;
  index.add(1, "red apples");
  index.add(2, "green apples");
  index.add(1, "yellow bananas");  // replaces id 1
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(ids_of(index.search("red", 5)), std::vector<std::int64_t>{});
  EXPECT_EQ(ids_of(index.search("banana", 5)), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(ids_of(index.search("apple", 5)), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(index.remove({2, 99}), 1u);
  EXPECT_FALSE(index.contains(2));
  EXPECT_TRUE(index.search("apple", 5).empty());
  // With one live chunk left, its idf is that of a single-document index.
  const auto hits = index.search("banana", 5);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(index.idf("banana"), std::log(1.0 + 0.5 / 1.5), 1e-9);
}

TEST(Bm25Index, CompactionAfterManyRemovalsKeepsResultsExact) {
  Bm25Index index;
  for (int i = 0; i < 500; ++i) {
    index.add(i, "common word " + std::string(i % 2 == 0 ? "even" : "odd") + " token" + std::to_string(i));
  }
  std::vector<std::int64_t> evens;
  for (int i = 0; i < 500; i += 2) evens.push_back(i);
  EXPECT_EQ(index.remove(evens), 250u);  // crosses the compaction threshold
  EXPECT_EQ(index.size(), 250u);
  EXPECT_TRUE(index.search("even", 10).empty());
  EXPECT_EQ(ids_of(index.search("token7", 10)), (std::vector<std::int64_t>{7}));
  EXPECT_EQ(index.search("odd", 1000).size(), 250u);
  index.add(7, "replaced text");
  EXPECT_TRUE(index.search("token7", 10).empty());
  EXPECT_EQ(ids_of(index.search("replaced", 10)), (std::vector<std::int64_t>{7}));
}

TEST(Bm25Index, TopKKeepsTheBestAndBreaksTiesBySmallerId) {
  Bm25Index index;
  for (int i = 1; i <= 20; ++i) index.add(i, "lamp text");
  index.add(100, "lamp lamp text text");
  const auto hits = index.search("lamp", 3);
  EXPECT_EQ(ids_of(hits), (std::vector<std::int64_t>{100, 1, 2}));
  EXPECT_TRUE(index.search("lamp", 0).empty());
  EXPECT_TRUE(index.search("the of", 5).empty());  // only stop words
}

TEST(Bm25Index, ConcurrentSearchesAndUpdatesAreSafe) {
  Bm25Index index;
  for (int i = 0; i < 200; ++i) index.add(i, "alpha beta gamma " + std::to_string(i));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) EXPECT_FALSE(index.search("alpha", 10).empty());
    });
  }
  for (int i = 0; i < 300; ++i) {
    index.add(1000 + i, "alpha delta");
    if (i % 3 == 0) index.remove({1000 + i});
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(index.size(), 200u + 200u);
}

// The query embedding takes every term's idf in one call: the same values, by position,
// for known, unknown and repeated terms; zeros while the index is empty.
TEST(Bm25Index, IdfOfTermsGivesIdfForEachPosition) {
  Bm25Index index;
  AnalyzedText query;
  index.analyzer().analyze("banana apples and kiwis, banana again", query);
  std::vector<float> idf{7.0f};
  index.idf_of_terms(query, idf);
  EXPECT_EQ(idf, std::vector<float>(query.size(), 0.0f));

  index.add(1, "apple banana apple");
  index.add(2, "banana cherry");
  index.add(3, "cherry date fig");
  index.idf_of_terms(query, idf);
  ASSERT_EQ(idf.size(), query.size());
  for (std::size_t i = 0; i < query.size(); ++i) {
    EXPECT_EQ(idf[i], static_cast<float>(index.idf(query.term(i)))) << query.term(i);
  }
  EXPECT_GT(idf[query.size() - 1], 0.0f);
  EXPECT_LT(idf[0], static_cast<float>(index.idf("kiwi")));  // banana is in two chunks, kiwi in none
}

namespace {

// Adds chunk `id` of `document` ("" = none).
void add_chunk(Bm25Index& index, std::int64_t id, std::string_view text, std::string_view document) {
  std::vector<Bm25Index::PreparedText> one;
  one.push_back(index.prepare(id, text, document));
  index.add(std::move(one));
}

double bm25(double n, double df, double tf, double length, double avgdl, double k1, double b) {
  const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
  return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl));
}

}  // namespace

// A chunk scores its own BM25 plus w times its document's, the document being its chunks
// taken together: tf summed, length summed, N, df and avgdl counted in documents.
TEST(Bm25Index, DocumentWeightAddsTheScoreOfTheChunksDocument) {
  const double k1 = 1.2, b = 0.75, w = 0.5;
  Bm25Index index(Bm25Params{k1, b, w});
  add_chunk(index, 1, "apple banana apple", "a");  // length 3
  add_chunk(index, 2, "apple cherry", "a");        // length 2: document a is 5 long, apple tf 3
  add_chunk(index, 3, "cherry date fig", "b");     // length 3
  add_chunk(index, 4, "banana kiwi", "c");         // length 2
  EXPECT_EQ(index.document_count(), 3u);
  const auto hits = index.search("apple", 10);
  ASSERT_EQ(ids_of(hits), (std::vector<std::int64_t>{1, 2}));
  // Chunks: N 4, df 2, avgdl 10/4. Documents: N 3, df 1, avgdl 10/3, a: tf 3, length 5.
  const double document_a = bm25(3, 1, 3, 5, 10.0 / 3.0, k1, b);
  EXPECT_NEAR(hits[0].second, bm25(4, 2, 2, 3, 2.5, k1, b) + w * document_a, 1e-4);
  EXPECT_NEAR(hits[1].second, bm25(4, 2, 1, 2, 2.5, k1, b) + w * document_a, 1e-4);
}

// The evidence of the whole document lifts a passage above an equally matching passage of
// a document that matches the query less: scored alone the two passages tie.
TEST(Bm25Index, DocumentWeightRanksThePassageOfTheBetterDocumentFirst) {
  Bm25Index alone(Bm25Params{1.2, 0.5, 0.0});
  Bm25Index with_documents(Bm25Params{1.2, 0.5, 1.0});
  for (Bm25Index* index : {&alone, &with_documents}) {
    add_chunk(*index, 1, "vitamin intake in adults", "noise");
    add_chunk(*index, 2, "traffic noise in cities", "noise");
    add_chunk(*index, 3, "vitamin intake in adults", "diet");
    add_chunk(*index, 4, "bone fracture risk in adults", "diet");
  }
  const auto tied = alone.search("vitamin intake fracture", 3);
  ASSERT_EQ(ids_of(tied), (std::vector<std::int64_t>{1, 3, 4}));
  EXPECT_FLOAT_EQ(tied[0].second, tied[1].second);  // the smaller id wins the tie
  const auto ranked = with_documents.search("vitamin intake fracture", 3);
  // Chunk 4 rises too: its document holds all three terms.
  ASSERT_EQ(ids_of(ranked), (std::vector<std::int64_t>{3, 4, 1}));
  EXPECT_GT(ranked[0].second, ranked[2].second);
}

// Weight 0 scores chunks alone, documents or not; a chunk without a document gets no
// document score at any weight.
TEST(Bm25Index, WeightZeroAndChunksWithoutADocumentScoreTheChunkAlone) {
  Bm25Index plain(Bm25Params{1.2, 0.5});
  Bm25Index zero(Bm25Params{1.2, 0.5, 0.0});
  Bm25Index weighted(Bm25Params{1.2, 0.5, 2.0});
  for (Bm25Index* index : {&plain, &zero, &weighted}) {
    add_chunk(*index, 1, "solar panels on roofs", index == &plain ? "" : "energy");
    add_chunk(*index, 2, "solar wind and storms", "");
    add_chunk(*index, 3, "wind turbines at sea", index == &plain ? "" : "energy");
  }
  const auto expected = plain.search("solar wind", 10);
  const auto got = zero.search("solar wind", 10);
  ASSERT_EQ(ids_of(got), ids_of(expected));
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i].second, expected[i].second);
  // Chunk 2 has no document: its score is its own; chunk 1's is raised by "energy".
  const auto raised = weighted.search("solar wind", 10);
  auto score_of = [](const std::vector<ScoredId>& hits, std::int64_t id) {
    for (const auto& [i, s] : hits) {
      if (i == id) return s;
    }
    return -1.0f;
  };
  EXPECT_FLOAT_EQ(score_of(raised, 2), score_of(expected, 2));
  EXPECT_GT(score_of(raised, 1), score_of(expected, 1) + 0.1f);
  EXPECT_EQ(weighted.document_count(), 1u);
}

// Removing and replacing chunks keeps the document statistics those of the live chunks:
// after the churn, scores equal those of an index built from the survivors alone, through
// compaction too.
TEST(Bm25Index, DocumentStatisticsFollowRemovalsReplacementsAndCompaction) {
  const Bm25Params params{0.9, 0.6, 1.5};
  Bm25Index churned(params);
  for (int i = 0; i < 300; ++i) {
    add_chunk(churned, i, "shared topic " + std::string(i % 3 == 0 ? "kept" : "gone") + " part" + std::to_string(i),
              "doc" + std::to_string(i / 3));
  }
  std::vector<std::int64_t> removed;
  for (int i = 0; i < 300; ++i) {
    if (i % 3 != 0) removed.push_back(i);
  }
  EXPECT_EQ(churned.remove(removed), 200u);  // crosses the compaction threshold
  add_chunk(churned, 0, "shared topic replaced text", "doc0");  // replaces chunk 0
  add_chunk(churned, 3, "shared topic moved", "moved");         // chunk 3 leaves doc1, now empty

  Bm25Index fresh(params);
  add_chunk(fresh, 0, "shared topic replaced text", "doc0");
  add_chunk(fresh, 3, "shared topic moved", "moved");
  for (int i = 6; i < 300; i += 3) {
    add_chunk(fresh, i, "shared topic kept part" + std::to_string(i), "doc" + std::to_string(i / 3));
  }
  EXPECT_EQ(churned.document_count(), fresh.document_count());
  EXPECT_EQ(churned.document_count(), 100u);
  for (const char* query : {"shared topic", "kept part42", "replaced", "moved topic"}) {
    const auto expected = fresh.search(query, 1000);
    const auto got = churned.search(query, 1000);
    ASSERT_EQ(ids_of(got), ids_of(expected)) << query;
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i].second, expected[i].second, 1e-4) << query;
  }
}

TEST(Bm25Index, ASearchAmongASetScoresOnlyItsChunksAsAnUnrestrictedSearchDoes) {
  Bm25Index index(Bm25Params{1.2, 0.5, 0.3});
  std::vector<Bm25Index::PreparedText> texts;
  texts.push_back(index.prepare(1, "volcano volcano magma", "a"));
  texts.push_back(index.prepare(2, "volcano magma ash", "a"));
  texts.push_back(index.prepare(3, "a trip past a volcano", "b"));
  texts.push_back(index.prepare(4, "rivers and a volcano far away", "c"));
  texts.push_back(index.prepare(5, "farms and towns", "c"));
  index.add(std::move(texts));
  AnalyzedText query;
  index.analyzer().analyze("volcano magma", query);
  const auto all = index.search_terms(query, 10);
  ASSERT_EQ(ids_of(all).front(), 1);
  const IdSet among({4, 3, 5});
  const auto some = index.search_terms(query, 1, &among);
  ASSERT_EQ(some.size(), 1u) << "k of the set, not the survivors of an unrestricted k";
  const auto both = index.search_terms(query, 10, &among);
  ASSERT_EQ(both.size(), 2u) << "chunk 5 holds no query term";
  for (const auto& [id, score] : both) {
    EXPECT_TRUE(id == 3 || id == 4) << id;
    auto same = std::find_if(all.begin(), all.end(), [&](const ScoredId& h) { return h.first == id; });
    ASSERT_NE(same, all.end());
    EXPECT_FLOAT_EQ(score, same->second);
  }
  EXPECT_EQ(some.front().first, both.front().first);
  const IdSet nothing;
  EXPECT_TRUE(index.search_terms(query, 10, &nothing).empty());
  // The set leaves nothing behind: the next unrestricted search is the same as before.
  EXPECT_EQ(ids_of(index.search_terms(query, 10)), ids_of(all));
}
