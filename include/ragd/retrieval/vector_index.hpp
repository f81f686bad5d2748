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
//         vectors it holds (up to 256 per list, evenly spread, as FAISS's k-means would
//         sample), when they reach `ivf_train_size` (default 39 * nlist, the FAISS rule of
//         thumb); the lists are never retrained (see docs/operations.md).
// FAISS is an implementation detail: this header does not include it, and FAISS
// exceptions stop here, coming back as ragd::Error values.
//
// Searches among a set of ids (search_among: a metadata filter's chunks) return the k best
// of those ids only, never the survivors of an unrestricted top k. A small set (up to
// kExactAmongMax ids) is scored exactly, vector by vector, in every kind; a larger one goes
// through FAISS's own selection (SearchParameters::sel) in HNSW and trained IVF indexes,
// with the HNSW beam widened by the share of the graph the set holds, and is scored
// exactly in a flat index.
//
// Rebuilds on the side: an HNSW rebuild (past `rebuild_deleted_fraction`) or the IVF
// training (at `ivf_train_size`) is started by the add or remove that crosses the line, but
// runs on a background thread of its own: it copies the live vectors in slices under the
// shared lock (searches go on; writers wait for one slice at most), builds the new index
// with no lock at all, then replays onto it the writes made meanwhile (each add and remove
// is applied to the old index at once and also recorded in a pending log while a rebuild
// runs) and swaps it in under a short exclusive lock. Until then searches, writes and
// snapshots use the old index, so nothing waits for the rebuild and nothing written during
// it is lost. One rebuild at a time; stats().rebuilding says one is running.
//
// Threading: searches run concurrently under a shared lock; add() and remove() take it
// exclusively for the write itself. FAISS's own OpenMP parallelism is pinned to one thread
// on every thread that calls in: we already run many searches at once on the Retriever's
// pool, and OpenMP fanning each small search out over all cores on top of that
// oversubscribes the machine (and its spinning workers burn CPU between searches). The
// OpenMP thread count is a per-thread setting, so it is applied on each calling thread,
// not only once. The one exception is a large HNSW add (kParallelInsertMin vectors or
// more in one call): the graph insertion then uses every core, since searches wait for
// that write anyway. Background rebuilds and IVF training stay on one thread, so they do
// not take cores from searches. Flat scans go through BLAS even for one query, with
// OpenBLAS held to one thread likewise.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/core/error.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ragd::retrieval {

using ScoredId = std::pair<std::int64_t, float>;

// An HNSW add of at least this many vectors inserts them on every core (see above).
inline constexpr std::size_t kParallelInsertMin = 256;
// Searches among at most this many ids score each of them exactly (see above).
inline constexpr std::size_t kExactAmongMax = 4096;

// A set of ids a search may return: sorted and distinct. Immutable once built.
class IdSet {
 public:
  IdSet() = default;
  explicit IdSet(std::vector<std::int64_t> ids);  // any order; duplicates dropped
  bool contains(std::int64_t id) const;
  const std::vector<std::int64_t>& ids() const { return ids_; }
  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }

 private:
  std::vector<std::int64_t> ids_;
};

class VectorIndex {
 public:
  explicit VectorIndex(int dim, IndexConfig config = {});
  // Stops a rebuild still running (its work is dropped: the old index stays) and joins it.
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

  // Up to k (id, score) pairs among the ids of `among` only, best first.
  Result<std::vector<ScoredId>> search_among(const float* query, int k, const IdSet& among) const;

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
    std::size_t rebuilds = 0;    // hnsw rebuilds completed since construction
    bool rebuilding = false;     // an HNSW rebuild or the IVF training is running on the side
  };
  // Lock-free (as of the last completed add, remove or swap): safe on an I/O thread.
  Stats stats() const;

  // Blocks until no rebuild or training is running (tools, tests, benchmarks that want the
  // final index; never on an I/O thread).
  void wait_for_rebuild() const;

  // For tests: called on the rebuild thread once the new index is built, before the writes
  // made meanwhile are replayed onto it and it is swapped in. A hook that blocks holds the
  // rebuild there (the old index keeps serving); it must return before the index is
  // destroyed.
  void set_rebuild_hook(std::function<void()> hook);

  // The kind and the parameters that shape the built index, e.g. "hnsw m=32 ef_construction=64";
  // snapshots record it (the index itself is always rebuilt from the stored vectors).
  std::string describe() const;

  struct Impl;  // one kind of index (src/retrieval/vector_index_kinds.hpp)

 private:
  // One add or remove made while a rebuild runs, to replay onto the new index.
  struct PendingWrite {
    bool remove = false;
    std::vector<std::int64_t> ids;
    std::vector<float> vectors;  // adds: ids.size() * dim floats
  };

  void publish_stats();  // with mutex_ held exclusively
  // After a write, with mutex_ held exclusively: starts a rebuild when one is due.
  void start_rebuild_if_due();
  void run_rebuilds();     // the rebuild thread
  bool rebuild_once();     // one rebuild; true when another is due at once
  void abandon_rebuild(const std::string& why);

  int dim_;
  IndexConfig config_;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<Impl> impl_;  // swapped only by the rebuild thread, under mutex_
  // Guarded by mutex_:
  bool rebuild_running_ = false;
  bool recording_ = false;            // writes go to pending_ too
  std::vector<PendingWrite> pending_;
  std::size_t rebuilds_ = 0;
  std::chrono::steady_clock::time_point retry_after_{};  // after a failed rebuild
  std::function<void()> rebuild_hook_;
  mutable std::condition_variable_any rebuild_done_;
  std::thread rebuild_thread_;  // started and joined by writers, under mutex_
  std::atomic<bool> closing_{false};

  std::atomic<std::size_t> stat_vectors_{0}, stat_tombstones_{0}, stat_rebuilds_{0};
  std::atomic<bool> stat_trained_{true}, stat_rebuilding_{false};
};

}  // namespace ragd::retrieval
