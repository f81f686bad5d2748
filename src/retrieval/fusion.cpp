#include "ragd/retrieval/fusion.hpp"

#include <algorithm>
#include <cstdint>

namespace ragd::retrieval {
namespace {

struct Entry {
  double score = 0.0;
  std::size_t best_rank = SIZE_MAX;
};

struct Ranked {
  std::int64_t id;
  Entry entry;
};

// Sums `contribution(list, rank, score)` per id over `lists` and returns the ids best
// first (see fuse()). Items are gathered in one vector, found again through a small
// open-addressing table of positions (a hash map's node per item cost more than the
// fusion itself).
template <class Contribution>
std::vector<ScoredId> accumulate(const std::vector<std::vector<ScoredId>>& lists, std::size_t limit,
                                 Contribution contribution) {
  std::size_t total = 0;
  for (const auto& list : lists) total += list.size();
  std::vector<Ranked> ranked;
  ranked.reserve(total);
  std::size_t capacity = 16;
  while (capacity < 2 * total) capacity *= 2;
  constexpr std::uint32_t kFree = UINT32_MAX;
  std::vector<std::uint32_t> slots(capacity, kFree);
  const std::size_t mask = capacity - 1;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    for (std::size_t r = 0; r < lists[i].size(); ++r) {
      const std::int64_t id = lists[i][r].first;
      const std::uint64_t mixed = static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ULL;
      std::size_t slot = static_cast<std::size_t>(mixed >> 32) & mask;
      while (slots[slot] != kFree && ranked[slots[slot]].id != id) slot = (slot + 1) & mask;
      if (slots[slot] == kFree) {
        slots[slot] = static_cast<std::uint32_t>(ranked.size());
        ranked.push_back(Ranked{id, Entry{}});
      }
      Entry& e = ranked[slots[slot]].entry;
      e.score += contribution(i, r, lists[i][r].second);
      e.best_rank = std::min(e.best_rank, r);
    }
  }
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

double weight_of(const std::vector<double>& weights, std::size_t list) {
  return list < weights.size() ? weights[list] : 1.0;
}

}  // namespace

std::optional<FusionMethod> parse_fusion_method(std::string_view name) {
  if (name == "rrf") return FusionMethod::rrf;
  if (name == "convex") return FusionMethod::convex;
  return std::nullopt;
}

std::string_view to_string(FusionMethod method) { return method == FusionMethod::convex ? "convex" : "rrf"; }

FusionParams hybrid_fusion(const RetrievalConfig& config) {
  FusionParams p;
  p.method = parse_fusion_method(config.fusion).value_or(FusionMethod::rrf);
  p.rrf_k = config.rrf_k;
  p.weights = {config.dense_weight, 1.0};
  return p;
}

std::vector<ScoredId> fuse(const std::vector<std::vector<ScoredId>>& lists, const FusionParams& params,
                           std::size_t limit) {
  if (params.method == FusionMethod::convex) return convex_fuse(lists, params.weights, limit);
  return rrf_fuse(lists, params.rrf_k, params.weights, limit);
}

std::vector<ScoredId> rrf_fuse(const std::vector<std::vector<ScoredId>>& lists, double k,
                               const std::vector<double>& weights, std::size_t limit) {
  if (k <= 0.0) k = kDefaultRrfK;
  return accumulate(lists, limit, [&](std::size_t list, std::size_t rank, float) {
    return weight_of(weights, list) / (k + static_cast<double>(rank + 1));
  });
}

std::vector<ScoredId> convex_fuse(const std::vector<std::vector<ScoredId>>& lists, const std::vector<double>& weights,
                                  std::size_t limit) {
  // Per list: the offset and scale that map its scores onto [0, 1].
  std::vector<std::pair<double, double>> norm(lists.size(), {0.0, 0.0});
  for (std::size_t i = 0; i < lists.size(); ++i) {
    if (lists[i].empty()) continue;
    double lo = lists[i].front().second, hi = lo;
    for (const auto& [id, score] : lists[i]) {
      lo = std::min<double>(lo, score);
      hi = std::max<double>(hi, score);
    }
    norm[i] = {lo, hi > lo ? 1.0 / (hi - lo) : 0.0};
  }
  return accumulate(lists, limit, [&](std::size_t list, std::size_t, float score) {
    const auto [lo, scale] = norm[list];
    const double normalised = scale > 0.0 ? (score - lo) * scale : 1.0;
    return weight_of(weights, list) * normalised;
  });
}

}  // namespace ragd::retrieval
