// Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): merges ranked lists
// whose scores are not comparable (BM25 scores and cosines) by rank alone. An item at
// 1-based rank r in list i earns weight_i / (k + r); its fused score is the sum over the
// lists that hold it. k = 60 is the paper's value: it keeps one list's top item from
// dominating while still rewarding agreement between lists.
//
// Pure functions: no I/O, no shared state; safe from any thread.
#pragma once

#include "ragd/retrieval/vector_index.hpp"

#include <cstddef>
#include <vector>

namespace ragd::retrieval {

inline constexpr double kDefaultRrfK = 60.0;

// Fuses `lists` (each best first, ids distinct within a list; the scores in them are
// ignored). Returns every id that appears in any list with its fused score, best first.
// Ties go to the item with the better best rank in any list, then to the smaller id, so
// the result is deterministic. `weights` is empty (all 1) or holds one weight per list;
// `k` must be positive (values <= 0 are treated as kDefaultRrfK). With `limit` > 0 only
// the best `limit` items are returned.
std::vector<ScoredId> rrf_fuse(const std::vector<std::vector<ScoredId>>& lists,
                               double k = kDefaultRrfK, const std::vector<double>& weights = {},
                               std::size_t limit = 0);

}  // namespace ragd::retrieval
