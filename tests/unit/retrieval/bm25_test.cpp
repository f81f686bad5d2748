#include "ragd/retrieval/bm25_index.hpp"

#include "ragd/retrieval/text_analysis.hpp"

#include <gtest/gtest.h>

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
