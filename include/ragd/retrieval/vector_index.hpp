// VectorIndex: inner-product search over float vectors keyed by int64 ids; with
// L2-normalised vectors the score is the cosine. Three kinds (IndexConfig::type):
//   flat  exact: FAISS IndexIDMap2 over IndexFlatIP; every search scans every vector.
//   hnsw  approximate: FAISS IndexHNSWFlat (a navigable graph, logarithmic search). FAISS
//         cannot take vectors out of an HNSW graph, so a remove or replace marks the old
//         entry deleted (a tombstone): searches over-fetch and drop tombstones, so a
//         deleted id is never returned, and once tombstones pass
//         `rebuild_deleted_fraction` of the graph it is rebuilt from the live vectors.
//   ivf   approximate: FAISS IndexIVFFlat (k-means lists, `nprobe` scanned per query).
//         It needs training, so it starts exact (a flat index) and trains once, on the
//         vectors it holds, when they reach `ivf_train_size` (default 39 * nlist, the
//         FAISS rule of thumb); the lists are never retrained (see docs/operations.md).
// FAISS is an implementation detail: this header does not include it, and FAISS
// exceptions stop here, coming back as ragd::Error values.
//
// Threading: searches run concurrently under a shared lock; add() and remove() take it
// exclusively (an HNSW rebuild or the IVF training runs inside the add/remove that
// triggers it, under that lock). FAISS's own OpenMP parallelism is pinned to one thread
// on every thread that calls in: we already run many searches at once on the Retriever's
// pool, and OpenMP fanning each small search out over all cores on top of that
// oversubscribes the machine (and its spinning workers burn CPU between searches). The
// OpenMP thread count is a per-thread setting, so it is applied on each calling thread,
// not only once. It also makes HNSW insertion and IVF training single-threaded. Flat
// scans go through BLAS even for one query, with OpenBLAS held to one thread likewise.
#pragma once

#include "ragd/core/config.hpp"
#include "ragd/core/error.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace ragd::retrieval {

using ScoredId = std::pair<std::int64_t, float>;

class VectorIndex {
 public:
  explicit VectorIndex(int dim, IndexConfig config = {});
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
  std::size_t size() const;  // live vectors (tombstones not counted)
  int dim() const { return dim_; }
  const IndexConfig& config() const { return config_; }

  struct Stats {
    std::size_t vectors = 0;     // live
    std::size_t tombstones = 0;  // hnsw: deleted entries still in the graph
    bool trained = true;         // ivf: false while it is still exact
    std::size_t rebuilds = 0;    // hnsw rebuilds since construction
  };
  // Lock-free (as of the last completed add or remove): safe on an I/O thread even while a
  // rebuild holds the index.
  Stats stats() const;

  // The kind and the parameters that shape the built index, e.g. "hnsw m=32 ef_construction=64";
  // snapshots record it (the index itself is always rebuilt from the stored vectors).
  std::string describe() const;

  struct Impl;  // one kind of index (vector_index.cpp)

 private:
  int dim_;
  IndexConfig config_;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<Impl> impl_;
  void publish_stats();  // with mutex_ held exclusively
  std::atomic<std::size_t> stat_vectors_{0}, stat_tombstones_{0}, stat_rebuilds_{0};
  std::atomic<bool> stat_trained_{true};
};

}  // namespace ragd::retrieval
