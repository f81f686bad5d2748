#include "ragd/retrieval/fusion.hpp"

#include <algorithm>
#include <cstdint>

namespace ragd::retrieval {

std::vector<ScoredId> rrf_fuse(const std::vector<std::vector<ScoredId>>& lists, double k,
                               const std::vector<double>& weights, std::size_t limit) {
  if (k <= 0.0) k = kDefaultRrfK;
  struct Entry {
    double score = 0.0;
    std::size_t best_rank = SIZE_MAX;
  };
  struct Ranked {
    std::int64_t id;
    Entry entry;
  };
  // Items are gathered in `ranked`, found again through a small open-addressing table of
  // positions (a hash map's node per item cost more than the fusion itself).
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
    const double w = i < weights.size() ? weights[i] : 1.0;
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
      e.score += w / (k + static_cast<double>(r + 1));
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

}  // namespace ragd::retrieval
