// VectorIndex: exact inner-product search over float vectors keyed by int64 ids (FAISS
// IndexIDMap2 over IndexFlatIP; with L2-normalised vectors the score is the cosine).
// FAISS is an implementation detail: this header does not include it, and FAISS
// exceptions stop here, coming back as ragd::Error values.
//
// Threading: searches run concurrently under a shared lock; add() and remove() take it
// exclusively. FAISS's own OpenMP parallelism is pinned to one thread on every thread
// that calls in: we already run many searches at once on the Retriever's pool, and
// OpenMP fanning each small search out over all cores on top of that oversubscribes the
// machine (and its spinning workers burn CPU between searches). The OpenMP thread count
// is a per-thread setting, so it is applied on each calling thread, not only once.
#pragma once

#include "ragd/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <utility>
#include <vector>

namespace ragd::retrieval {

using ScoredId = std::pair<std::int64_t, float>;

class VectorIndex {
 public:
  explicit VectorIndex(int dim);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Adds `n` vectors of dim() floats, vectors[i * dim()...] keyed by ids[i]. An id that is
  // already present is replaced (upsert). ids.size() must equal n and hold no duplicates;
  // on any error nothing is changed.
  Result<void> add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n);

  // Removes the ids that are present; returns how many were removed.
  Result<std::size_t> remove(const std::vector<std::int64_t>& ids);

  // Up to k (id, score) pairs, best first. k <= 0 or an empty index gives an empty list.
  Result<std::vector<ScoredId>> search(const float* query, int k) const;

  // n queries at once (one FAISS call); result[i] belongs to query i.
  Result<std::vector<std::vector<ScoredId>>> search_batch(const float* queries, std::size_t n,
                                                          int k) const;

  // Copies the stored vectors of `ids` into out[i * dim()...]; every id must be present.
  Result<void> reconstruct(const std::vector<std::int64_t>& ids, float* out) const;

  bool contains(std::int64_t id) const;
  std::size_t size() const;
  int dim() const { return dim_; }

 private:
  struct Impl;
  int dim_;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::retrieval
