#include "ragd/retrieval/fusion.hpp"

#include <algorithm>
#include <unordered_map>

namespace ragd::retrieval {

std::vector<ScoredId> rrf_fuse(const std::vector<std::vector<ScoredId>>& lists, double k,
                               const std::vector<double>& weights, std::size_t limit) {
  if (k <= 0.0) k = kDefaultRrfK;
  struct Entry {
    double score = 0.0;
    std::size_t best_rank = SIZE_MAX;
  };
  std::unordered_map<std::int64_t, Entry> fused;
  std::size_t total = 0;
  for (const auto& list : lists) total += list.size();
  fused.reserve(total);
  for (std::size_t i = 0; i < lists.size(); ++i) {
    const double w = i < weights.size() ? weights[i] : 1.0;
    for (std::size_t r = 0; r < lists[i].size(); ++r) {
      Entry& e = fused[lists[i][r].first];
      e.score += w / (k + static_cast<double>(r + 1));
      e.best_rank = std::min(e.best_rank, r);
    }
  }
  struct Ranked {
    std::int64_t id;
    Entry entry;
  };
  std::vector<Ranked> ranked;
  ranked.reserve(fused.size());
  for (const auto& [id, e] : fused) ranked.push_back(Ranked{id, e});
  auto better = [](const Ranked& a, const Ranked& b) {
    if (a.entry.score != b.entry.score) return a.entry.score > b.entry.score;
    if (a.entry.best_rank != b.entry.best_rank) return a.entry.best_rank < b.entry.best_rank;
    return a.id < b.id;
  };
  if (limit > 0 && limit < ranked.size()) {
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(limit), ranked.end(), better);
    ranked.resize(limit);
  } else {
    std::sort(ranked.begin(), ranked.end(), better);
  }
  std::vector<ScoredId> out;
  out.reserve(ranked.size());
  for (const auto& r : ranked) out.emplace_back(r.id, static_cast<float>(r.entry.score));
  return out;
}

}  // namespace ragd::retrieval
