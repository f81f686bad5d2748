// Choosing retrieval settings on a BEIR split: a grid over the analyser's stop words, BM25's
// k1, b and document weight, and the hybrid fusion (method, dense weight, rrf k). For each analyser the
// corpus is indexed once by a Retriever and every query searched once in the dense leg
// (which k1 and b do not change); for each (k1, b, document weight) a BM25
// index of the same chunks is built from tokens made once, and searched once per query; the fusion settings are then
// tried on the two lists without searching again, so a grid of hundreds of points costs
// little more than two indexings. `ragctl tune` prints the grid;
// defaults are chosen on SciFact's train split and reported on its test split (see
// docs/architecture.md).
//
// The fused lists are made as a hybrid search makes them (fuse() of the dense and lexical
// chunk lists, each `candidates` deep at least) and scored like evaluate() scores a search;
// the only difference is that a hybrid search also drops chunks whose text repeats
// another's (rare in a benchmark corpus).
//
// Blocking, CPU-heavy work on the calling thread; no shared state.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/retrieval/evaluation.hpp"
#include "ragd/retrieval/fusion.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ragd::retrieval {

struct TuningGrid {
  std::vector<bool> stop_words = {true, false};
  std::vector<double> k1 = {0.6, 0.9, 1.2, 1.5};
  std::vector<double> b = {0.3, 0.5, 0.7, 0.9};
  std::vector<double> document_weights = {0.0, 0.5, 1.0, 2.0};
  std::vector<FusionMethod> methods = {FusionMethod::rrf, FusionMethod::convex};
  std::vector<double> dense_weights = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0};
  std::vector<double> rrf_k = {10.0, 30.0, 60.0, 100.0};  // rrf only
};

struct LegScores {
  double ndcg_at_10 = 0.0;
  double recall_at_100 = 0.0;
};

struct TuningPoint {
  bool stop_words = true;
  double k1 = 0.0;
  double b = 0.0;
  double document_weight = 0.0;
  FusionMethod method = FusionMethod::rrf;
  double dense_weight = 0.0;
  double rrf_k = 0.0;  // 0 for convex
  LegScores dense, lexical, hybrid;
};

// Every point of `grid` on `data` (its judged queries), the other settings taken from
// `base`. `progress(line)` gets a line after each indexing.
Result<std::vector<TuningPoint>> tune(const RetrievalConfig& base, const BeirDataset& data, const TuningGrid& grid,
                                      const std::function<void(const std::string&)>& progress = {});

// The point with the best hybrid nDCG@10 (ties: the earlier point).
const TuningPoint* best_point(const std::vector<TuningPoint>& points);

}  // namespace ragd::retrieval
