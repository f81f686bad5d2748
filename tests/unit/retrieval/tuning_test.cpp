#include "ragd/retrieval/tuning.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::retrieval;

namespace {

BeirDataset small_set() {
  BeirDataset data;
  data.corpus = {
      {"bees", "Honey bees", "Worker bees perform the waggle dance to show the way to flowers."},
      {"tides", "Tides", "The gravity of the Moon pulls the oceans, and the tides rise and fall."},
      {"chess", "Chess", "The Sicilian Defence answers 1.e4 with c5 and leads to sharp play."},
      {"bread", "Sourdough", "A sourdough loaf rises slowly with wild yeast and lactic bacteria."},
      {"moon", "Moon phases", "The phases of the moon follow its orbit: new, waxing, full, waning."},
      {"dance", "Ballet", "Ballet dancers train the turnout of the hips and the dance steps for years."},
  };
  data.queries = {{"q1", "what dance do bees do"},
                  {"q2", "why do the oceans rise"},
                  {"q3", "sicilian defence moves"},
                  {"q4", "wild yeast bread"},
                  {"q5", "phases of the moon"}};
  data.qrels = {{"q1", {{"bees", 1}}},
                {"q2", {{"tides", 1}}},
                {"q3", {{"chess", 1}}},
                {"q4", {{"bread", 1}}},
                {"q5", {{"moon", 1}, {"tides", 0}}}};
  return data;
}

}  // namespace

// The grid's fused scores are what a hybrid search with those settings scores: each point
// is checked against evaluate() on a Retriever configured like it.
TEST(Tuning, EachPointScoresWhatAHybridSearchWithItsSettingsScores) {
  const BeirDataset data = small_set();
  RetrievalConfig base;
  base.embedding_dim = 128;
  TuningGrid grid;
  grid.stop_words = {true, false};
  grid.k1 = {0.9};
  grid.b = {0.4, 0.8};
  grid.document_weights = {0.0, 1.0};
  grid.methods = {FusionMethod::rrf, FusionMethod::convex};
  grid.dense_weights = {0.0, 0.5};
  grid.rrf_k = {10.0, 60.0};
  std::vector<std::string> progress;
  auto points = tune(base, data, grid, [&](const std::string& line) { progress.push_back(line); });
  ASSERT_TRUE(points) << points.error().message;
  // 2 stop-word settings x 2 b x 2 document weights, each with (2 rrf k + 1 convex) x 2
  // weights.
  ASSERT_EQ(points->size(), 2u * 2u * 2u * 3u * 2u);
  EXPECT_EQ(progress.size(), 8u);

  for (const TuningPoint& p : *points) {
    RetrievalConfig config = base;
    config.analyzer.stop_words = p.stop_words;
    config.bm25_k1 = p.k1;
    config.bm25_b = p.b;
    config.bm25_document_weight = p.document_weight;
    config.fusion = std::string(to_string(p.method));
    config.dense_weight = p.dense_weight;
    if (p.method == FusionMethod::rrf) config.rrf_k = p.rrf_k;
    Retriever retriever(config);
    ASSERT_TRUE(ingest_corpus(retriever, data));
    auto measured = evaluate(retriever, data, {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid});
    ASSERT_TRUE(measured) << measured.error().message;
    EXPECT_NEAR(p.dense.ndcg_at_10, (*measured)[0].ndcg_at_10, 1e-9);
    EXPECT_NEAR(p.lexical.ndcg_at_10, (*measured)[1].ndcg_at_10, 1e-9);
    EXPECT_NEAR(p.hybrid.ndcg_at_10, (*measured)[2].ndcg_at_10, 1e-9)
        << to_string(p.method) << " w=" << p.dense_weight << " k=" << p.rrf_k;
    EXPECT_NEAR(p.hybrid.recall_at_100, (*measured)[2].recall_at_100, 1e-9);
  }

  const TuningPoint* best = best_point(*points);
  ASSERT_NE(best, nullptr);
  for (const TuningPoint& p : *points) EXPECT_LE(p.hybrid.ndcg_at_10, best->hybrid.ndcg_at_10);
}
