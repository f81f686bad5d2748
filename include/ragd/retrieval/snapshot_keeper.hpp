// SnapshotKeeper: keeps the corpora of every tenant on disk at retrieval.snapshot_path, in
// one file (format: snapshot.hpp; a file of format 1, from before tenants, loads into the
// tenant "default"). load() restores the corpora at start; schedule() arms a timer (on the search pool) that
// saves `snapshot_interval_ms` after the first unsaved change, so a burst of changes costs
// one save; save() saves now (at shutdown). Saves are serialised and skipped when nothing
// changed since the last. A snapshot made by another embedder or vector size is loaded
// from its texts and re-embedded by the running EmbeddingStrategy; one indexed with another
// analyser (retrieval.analyzer) gets its BM25 terms from the running one, and with the
// built-in embedder (whose vectors depend on the analyser) is re-embedded too. With an empty
// snapshot_path every call is a no-op returning skipped stats.
//
// Thread-safety: every member function may be called from any thread concurrently. Call
// close() before the pool is joined; destroy the keeper after.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/corpora.hpp"
#include "ragd/retrieval/embedding_strategy.hpp"
#include "ragd/retrieval/retrieval_config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace ragd::retrieval {

struct SnapshotStats {
  std::size_t tenants = 0;
  std::size_t documents = 0;
  std::size_t chunks = 0;
  std::uint64_t index_version = 0;  // the greatest tenant version
  std::size_t bytes = 0;    // file size
  bool skipped = false;     // save: nothing changed since the last snapshot
  bool reembedded = false;  // load: stored vectors came from another embedder; recomputed
};

class SnapshotKeeper {
 public:
  SnapshotKeeper(const RetrievalConfig& config, Corpora& corpora, const EmbeddingStrategy& embedding,
                 PoolExecutor pool);
  SnapshotKeeper(const SnapshotKeeper&) = delete;
  SnapshotKeeper& operator=(const SnapshotKeeper&) = delete;

  // Call once at start, before serving, on empty corpora. A missing file
  // (Errc::not_found) or a corrupt one (Errc::internal; the file is renamed to
  // `<path>.corrupt` for inspection, so later saves do not overwrite it) leaves the corpora
  // empty; either way it logs one line saying so.
  Result<SnapshotStats> load();
  // Writes a snapshot now, unless nothing changed: on the pool, or on the calling thread.
  boost::asio::awaitable<Result<SnapshotStats>> save();
  Result<SnapshotStats> save_sync();
  // Arms the timer (see above); a no-op once closed.
  void schedule();
  // Cancels the timer for good.
  void close();
  // Changes not yet in a snapshot.
  bool unsaved() const;

 private:
  const RetrievalConfig config_;
  Corpora& corpora_;
  const EmbeddingStrategy& embedding_;
  PoolExecutor pool_;

  std::mutex save_mutex_;  // one save at a time (they share `<path>.tmp`)
  std::atomic<std::uint64_t> saved_changes_{0};  // Corpora::changes() in the file on disk

  std::mutex timer_mutex_;  // guards the timer and the two flags below
  boost::asio::steady_timer timer_;  // on the pool
  bool timer_armed_ = false;
  bool closing_ = false;
};

}  // namespace ragd::retrieval
