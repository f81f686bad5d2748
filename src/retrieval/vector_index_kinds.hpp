// The kinds of vector index behind VectorIndex (flat, HNSW, IVF: see vector_index.hpp) as
// one interface, VectorIndex::Impl, and the factory that picks one. The kinds wrap FAISS
// and know nothing of locking, rebuild threads or pending writes; VectorIndex
// (vector_index.cpp) owns that lifecycle and calls them under its lock. Private to the
// retrieval module.
//
// Thread-safety: none of their own (see VectorIndex::Impl below).
#pragma once

#include "ragd/retrieval/vector_index.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace ragd::retrieval {

// One kind of index. Called with VectorIndex::mutex_ held (exclusive for add/remove,
// shared for the rest), so implementations need no locking of their own; search paths
// must not mutate. The replacement a rebuild builds is private to the rebuild thread
// until it is swapped in, so that thread calls it without the lock.
struct VectorIndex::Impl {
  virtual ~Impl() = default;
  // ids hold no duplicates; present ids are replaced.
  virtual void add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n) = 0;
  virtual std::size_t remove(const std::vector<std::int64_t>& ids) = 0;
  // Up to k live results per query, best first.
  virtual std::vector<std::vector<ScoredId>> search(const float* queries, std::size_t n, int k) const = 0;
  // Up to k live results among the ids of `among`, best first.
  virtual std::vector<ScoredId> search_among(const float* query, int k, const IdSet& among) const = 0;
  virtual void reconstruct(std::int64_t id, float* out) const = 0;
  virtual bool contains(std::int64_t id) const = 0;
  virtual std::size_t size() const = 0;
  virtual Stats stats() const { return VectorIndex::Stats{size(), 0, true, 0, false}; }

  // Rebuilds (VectorIndex::rebuild_once). Whether this index should be replaced now.
  virtual bool wants_rebuild() const { return false; }
  virtual const char* rebuild_name() const { return "rebuild"; }
  // The live ids, in the order the replacement should take them.
  virtual std::vector<std::int64_t> live_ids() const = 0;
  // How many of the live vectors the replacement trains on (0: no training).
  virtual std::size_t training_sample_size() const { return 0; }
  // A new, empty index of the kind this one becomes, trained on the `n` sample vectors
  // when it needs training. Reads only what never changes after construction (dim and
  // config): the rebuild thread calls it without the lock.
  virtual std::unique_ptr<Impl> make_replacement(const float* /*sample*/, std::size_t /*n*/) const {
    throw std::logic_error("this index is never rebuilt");
  }
};

// The kind `config.type` names: "hnsw", "ivf", anything else flat.
std::unique_ptr<VectorIndex::Impl> make_impl(int dim, const IndexConfig& config);

}  // namespace ragd::retrieval
