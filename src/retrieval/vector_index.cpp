#include "ragd/retrieval/vector_index.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <omp.h>

#include <exception>
#include <mutex>
#include <string>
#include <unordered_set>

namespace ragd::retrieval {
namespace {

// faiss 1.7 declares idx_t inside Index; later versions also at namespace scope.
using idx_t = faiss::Index::idx_t;

// OpenMP's thread count is a per-thread setting (the nthreads ICV of the calling thread),
// so it must be set on every thread that calls into FAISS, not once per process.
void pin_openmp_to_one_thread() {
  thread_local bool pinned = false;
  if (!pinned) {
    omp_set_num_threads(1);
    pinned = true;
  }
}

Error index_error(const char* what, const std::exception& e) {
  return make_error(Errc::internal, std::string("vector index ") + what + " failed: " + e.what());
}

}  // namespace

struct VectorIndex::Impl {
  explicit Impl(int dim) : flat(dim), map(&flat) {}
  faiss::IndexFlatIP flat;
  faiss::IndexIDMap2 map;  // does not own `flat` (own_fields is false by default)
};

VectorIndex::VectorIndex(int dim) : dim_(dim < 1 ? 1 : dim), impl_(std::make_unique<Impl>(dim_)) {
  pin_openmp_to_one_thread();
}

VectorIndex::~VectorIndex() = default;

Result<void> VectorIndex::add(const std::vector<std::int64_t>& ids, const float* vectors,
                              std::size_t n) {
  if (ids.size() != n) {
    return make_error(Errc::internal, "vector index add: " + std::to_string(ids.size()) +
                                          " ids for " + std::to_string(n) + " vectors");
  }
  if (n == 0) return {};
  if (vectors == nullptr) return make_error(Errc::internal, "vector index add: no vectors");
  std::unordered_set<std::int64_t> seen;
  seen.reserve(n);
  for (auto id : ids) {
    if (!seen.insert(id).second) {
      return make_error(Errc::internal, "vector index add: id " + std::to_string(id) + " twice");
    }
  }
  pin_openmp_to_one_thread();
  std::unique_lock lock(mutex_);
  try {
    // Upsert: IndexIDMap2 keeps one slot per id, so an id that is present goes first.
    std::vector<idx_t> present;
    for (auto id : ids) {
      if (impl_->map.rev_map.count(id) != 0) present.push_back(id);
    }
    if (!present.empty()) {
      faiss::IDSelectorBatch selector(present.size(), present.data());
      impl_->map.remove_ids(selector);
    }
    static_assert(sizeof(idx_t) == sizeof(std::int64_t));
    impl_->map.add_with_ids(static_cast<idx_t>(n), vectors,
                            reinterpret_cast<const idx_t*>(ids.data()));
  } catch (const std::exception& e) {
    return index_error("add", e);
  }
  return {};
}

Result<std::size_t> VectorIndex::remove(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return std::size_t{0};
  pin_openmp_to_one_thread();
  std::unique_lock lock(mutex_);
  try {
    std::vector<idx_t> present;
    for (auto id : ids) {
      if (impl_->map.rev_map.count(id) != 0) present.push_back(id);
    }
    if (present.empty()) return std::size_t{0};
    faiss::IDSelectorBatch selector(present.size(), present.data());
    return impl_->map.remove_ids(selector);
  } catch (const std::exception& e) {
    return index_error("remove", e);
  }
}

Result<std::vector<std::vector<ScoredId>>> VectorIndex::search_batch(const float* queries,
                                                                     std::size_t n, int k) const {
  std::vector<std::vector<ScoredId>> results(n);
  if (n == 0 || k <= 0) return results;
  pin_openmp_to_one_thread();
  std::shared_lock lock(mutex_);
  const auto total = impl_->map.ntotal;
  if (total == 0) return results;
  const auto kk = static_cast<idx_t>(std::min<idx_t>(k, total));
  std::vector<float> scores(n * static_cast<std::size_t>(kk));
  std::vector<idx_t> labels(n * static_cast<std::size_t>(kk));
  try {
    impl_->map.search(static_cast<idx_t>(n), queries, kk, scores.data(), labels.data());
  } catch (const std::exception& e) {
    return index_error("search", e);
  }
  for (std::size_t q = 0; q < n; ++q) {
    auto& out = results[q];
    out.reserve(static_cast<std::size_t>(kk));
    for (idx_t j = 0; j < kk; ++j) {
      const std::size_t at = q * static_cast<std::size_t>(kk) + static_cast<std::size_t>(j);
      if (labels[at] < 0) continue;  // FAISS pads with -1 when fewer results exist
      out.emplace_back(labels[at], scores[at]);
    }
  }
  return results;
}

Result<std::vector<ScoredId>> VectorIndex::search(const float* query, int k) const {
  auto batch = search_batch(query, 1, k);
  if (!batch) return batch.error();
  return std::move(batch->front());
}

Result<void> VectorIndex::reconstruct(const std::vector<std::int64_t>& ids, float* out) const {
  std::shared_lock lock(mutex_);
  try {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      impl_->map.reconstruct(static_cast<idx_t>(ids[i]), out + i * static_cast<std::size_t>(dim_));
    }
  } catch (const std::exception& e) {
    return index_error("reconstruct", e);
  }
  return {};
}

bool VectorIndex::contains(std::int64_t id) const {
  std::shared_lock lock(mutex_);
  return impl_->map.rev_map.count(id) != 0;
}

std::size_t VectorIndex::size() const {
  std::shared_lock lock(mutex_);
  return static_cast<std::size_t>(impl_->map.ntotal);
}

}  // namespace ragd::retrieval
