// Retrieval quality on BEIR SciFact (../shared/data/scifact beside the repository; read
// its README for the licence, CC BY-NC 2.0: the data is not part of this project). Skipped
// when the data is absent. Uses the full test split (300 queries, 5,183 abstracts) with
// the default RetrievalConfig, whose BM25 and fusion settings were chosen on the train
// split (bench/results/2026-12-07-scifact-train-grid.md); the floors are the measured values
// minus 0.005, so a change that costs retrieval quality fails here. Measured (Release and
// Debug give the same numbers; the computation is deterministic):
//   dense   nDCG@10 0.6301  Recall@100 0.8840
//   lexical nDCG@10 0.6854  Recall@100 0.9109
//   hybrid  nDCG@10 0.6881  Recall@100 0.9109
#include "ragd/retrieval/evaluation.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

using namespace ragd;
using namespace ragd::retrieval;

TEST(SciFactQuality, DefaultConfigKeepsItsMeasuredQuality) {
  const std::string dir = test::source_path("../shared/data/scifact");
  if (!std::filesystem::exists(dir + "/qrels/test.tsv")) GTEST_SKIP() << "no SciFact data at " << dir;
  auto data = load_beir(dir, "test");
  ASSERT_TRUE(data) << data.error().message;
  ASSERT_EQ(data->queries.size(), 300u);
  Retriever retriever(RetrievalConfig{});
  ASSERT_TRUE(ingest_corpus(retriever, *data));
  auto results = evaluate(retriever, *data, {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid});
  ASSERT_TRUE(results) << results.error().message;
  const double ndcg_floor[] = {0.6301 - 0.005, 0.6854 - 0.005, 0.6881 - 0.005};
  const double recall_floor[] = {0.8840 - 0.005, 0.9109 - 0.005, 0.9109 - 0.005};
  for (std::size_t i = 0; i < results->size(); ++i) {
    const auto& m = (*results)[i];
    RecordProperty(std::string(to_string(m.mode)) + "_ndcg_at_10", std::to_string(m.ndcg_at_10));
    EXPECT_GE(m.ndcg_at_10, ndcg_floor[i]) << to_string(m.mode);
    EXPECT_GE(m.recall_at_100, recall_floor[i]) << to_string(m.mode);
  }
  // Lexical at least Anserini's published BM25 (0.679), and hybrid search at least as good
  // as the better of its two legs: the weak hash-embedding leg must not drag it down.
  EXPECT_GE((*results)[1].ndcg_at_10, 0.679);
  EXPECT_GE((*results)[2].ndcg_at_10, std::max((*results)[0].ndcg_at_10, (*results)[1].ndcg_at_10));
}
