// Fusion of the dense and lexical result lists of a hybrid search. Two methods:
//
// - rrf, reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): by rank alone.
//   An item at 1-based rank r in list i earns weight_i / (k + r); its fused score is the sum
//   over the lists that hold it. k = 60 is the paper's value.
// - convex, a convex combination of normalised scores (Bruch, Gai and Ingber, "An Analysis
//   of Fusion Functions for Hybrid Retrieval", TOIS 2023): each list's scores are min-max
//   normalised to [0, 1] (its best item 1, its last 0; a list whose scores are all equal
//   gives each item 1) and an item's fused score is sum_i weight_i * normalised_i, an item
//   missing from a list getting 0 there. Unlike rrf it keeps how far apart the scores are:
//   a leg sure of its first item outweighs one whose top scores are close together.
//
// With either, a list of weight 0 changes nothing but the order of items tied on the others.
// The weights of the retrieval settings (retrieval.fusion, dense_weight, rrf_k) were chosen
// on SciFact's train queries; see docs/architecture.md.
//
// Pure functions: no I/O, no shared state; safe from any thread.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/retrieval/vector_index.hpp"

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

inline constexpr double kDefaultRrfK = 60.0;

enum class FusionMethod { rrf, convex };

// "rrf", "convex"; nullopt for anything else.
std::optional<FusionMethod> parse_fusion_method(std::string_view name);
std::string_view to_string(FusionMethod method);

struct FusionParams {
  FusionMethod method = FusionMethod::rrf;
  double rrf_k = kDefaultRrfK;
  std::vector<double> weights;  // one per list, or empty for 1 each
};

// The fusion of a hybrid search under `config`: lists in the order dense, lexical; the
// dense list weighs config.dense_weight, the lexical one 1.
FusionParams hybrid_fusion(const RetrievalConfig& config);

// Fuses `lists` (each best first, ids distinct within a list) and returns every id that
// appears in any list with its fused score, best first. Ties go to the item with the
// better best rank in any list, then to the smaller id, so the result is deterministic.
// With `limit` > 0 only the best `limit` items are returned.
std::vector<ScoredId> fuse(const std::vector<std::vector<ScoredId>>& lists, const FusionParams& params,
                           std::size_t limit = 0);

// fuse() by rrf. `k` must be positive (values <= 0 are treated as kDefaultRrfK); the
// scores in the lists are ignored.
std::vector<ScoredId> rrf_fuse(const std::vector<std::vector<ScoredId>>& lists,
                               double k = kDefaultRrfK, const std::vector<double>& weights = {},
                               std::size_t limit = 0);

// fuse() by convex combination of min-max normalised scores.
std::vector<ScoredId> convex_fuse(const std::vector<std::vector<ScoredId>>& lists,
                                  const std::vector<double>& weights = {}, std::size_t limit = 0);

}  // namespace ragd::retrieval
