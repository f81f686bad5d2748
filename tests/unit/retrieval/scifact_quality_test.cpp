// Retrieval quality on BEIR SciFact (../shared/data/scifact beside the repository; read
// its README for the licence, CC BY-NC 2.0: the data is not part of this project). Skipped
// when the data is absent. Uses the full test split (300 queries, 5,183 abstracts) with
// the default RetrievalConfig; the floors are the measured values minus 0.01, so a change
// that costs retrieval quality fails here. Measured (Release and Debug give the same
// numbers; the computation is deterministic):
//   dense   nDCG@10 0.6250  Recall@100 0.8872
//   lexical nDCG@10 0.6728  Recall@100 0.8987
//   hybrid  nDCG@10 0.6713  Recall@100 0.9137
#include "ragd/retrieval/evaluation.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

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
  const double ndcg_floor[] = {0.6250 - 0.01, 0.6728 - 0.01, 0.6713 - 0.01};
  const double recall_floor[] = {0.8872 - 0.01, 0.8987 - 0.01, 0.9137 - 0.01};
  for (std::size_t i = 0; i < results->size(); ++i) {
    const auto& m = (*results)[i];
    RecordProperty(std::string(to_string(m.mode)) + "_ndcg_at_10", std::to_string(m.ndcg_at_10));
    EXPECT_GE(m.ndcg_at_10, ndcg_floor[i]) << to_string(m.mode);
    EXPECT_GE(m.recall_at_100, recall_floor[i]) << to_string(m.mode);
  }
  // The bar: hybrid at least BM25's published 0.665 (BEIR paper).
  EXPECT_GE((*results)[2].ndcg_at_10, 0.665);
}
