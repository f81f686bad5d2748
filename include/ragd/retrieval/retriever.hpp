// Retriever: the gateway's document store and search engine, assembled from its rooms:
//
// - Corpus (corpus.hpp): documents, chunks, both indexes, version and change position;
//   synchronous, one lock, no threads.
// - EmbeddingStrategy (embedding_strategy.hpp): the built-in hash embedder, or a remote one
//   awaited as I/O.
// - SearchService (search_service.hpp): the thread pool, search batching and the search
//   modes; degraded searches.
// - LocalWriter (local_writer.hpp): the write path (validate once, chunk once, embed, index),
//   the DocumentWriter of a standalone gateway and what replication applies changes through.
// - SnapshotKeeper (snapshot_keeper.hpp): load at start, save after changes and at shutdown.
//
// This class wires them together and keeps the interface tools, tests and the pipeline
// use: coroutine forms hop onto the pool and resume the caller on its own executor; the
// *_sync forms do the work on the calling thread (tools, tests, benchmarks; never an I/O
// thread).
//
// Thread-safety: every member function may be called from any thread concurrently. The
// destructor waits for work already on the pool and saves unsaved changes (a safety net);
// destroy the Retriever only after the coroutines using it have finished.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/document_validation.hpp"
#include "ragd/retrieval/document_writer.hpp"
#include "ragd/retrieval/embedder.hpp"
#include "ragd/retrieval/embedding_strategy.hpp"
#include "ragd/retrieval/local_writer.hpp"
#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/retrieval/search_service.hpp"
#include "ragd/retrieval/snapshot_keeper.hpp"
#include "ragd/retrieval/vector_index.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::metrics {
class Registry;
}  // namespace ragd::metrics

namespace ragd::retrieval {

class Retriever {
 public:
  // `embedder` null = the built-in HashEmbedder of config.embedding_dim, embedding on the
  // pool; any other Embedder is awaited as I/O (RemoteEmbedding). `registry`, when given,
  // gets the retrieval metrics and must outlive the Retriever.
  explicit Retriever(const RetrievalConfig& config, std::shared_ptr<Embedder> embedder = nullptr,
                     metrics::Registry* registry = nullptr);
  ~Retriever();
  Retriever(const Retriever&) = delete;
  Retriever& operator=(const Retriever&) = delete;

  // Searches (SearchService::retrieve): in the configured mode or `mode`, within `timeout`,
  // among the documents `filter` matches (null: all). search() is retrieve() without the
  // account of how.
  boost::asio::awaitable<Result<SearchResult>> retrieve(std::string query, int top_k, SearchMode mode,
                                                        std::chrono::milliseconds timeout = kNoDeadline,
                                                        MetadataFilterPtr filter = nullptr);
  boost::asio::awaitable<Result<std::vector<Hit>>> search(std::string query, int top_k);
  boost::asio::awaitable<Result<std::vector<Hit>>> search(std::string query, int top_k, SearchMode mode);

  // Writes through the LocalWriter. ingest(docs) applies the request limit and schedules a
  // snapshot; ingest(docs, at) applies a log entry at its position (LocalWriter::apply).
  boost::asio::awaitable<Result<IngestStats>> ingest(std::vector<Document> docs);
  boost::asio::awaitable<Result<IngestStats>> ingest(std::vector<Document> docs, ChangePosition at);
  // Removes a document's chunks; true when it was indexed.
  boost::asio::awaitable<Result<bool>> remove(std::string doc_id);

  // The stored document (title, metadata, text as ingested, chunk count); nullopt when
  // no document has that id. The coroutine reads on the pool (an ingest may hold the lock).
  boost::asio::awaitable<std::optional<StoredDocument>> document(std::string doc_id);
  std::optional<StoredDocument> document_sync(const std::string& doc_id) const { return corpus_.document(doc_id); }
  // A page of the document listing (Corpus::list_documents), read on the pool.
  boost::asio::awaitable<DocumentPage> list_documents(std::string after, std::size_t limit);

  // Snapshots (SnapshotKeeper): load once at start, before serving; save now; schedule.
  Result<SnapshotStats> load_snapshot() { return snapshots_.load(); }
  boost::asio::awaitable<Result<SnapshotStats>> save_snapshot() { return snapshots_.save(); }
  Result<SnapshotStats> save_snapshot_sync() { return snapshots_.save_sync(); }
  void schedule_snapshot() { snapshots_.schedule(); }

  // Blocking forms, on the calling thread.
  Result<SearchResult> retrieve_sync(std::string_view query, int top_k, SearchMode mode,
                                     const MetadataFilter* filter = nullptr) const;
  Result<std::vector<Hit>> search_sync(std::string_view query, int top_k) const;
  Result<std::vector<Hit>> search_sync(std::string_view query, int top_k, SearchMode mode) const;
  Result<IngestStats> ingest_sync(std::vector<Document> docs) { return writer_.ingest_sync(std::move(docs)); }
  Result<IngestStats> ingest_sync(std::vector<Document> docs, const ChangePosition& at) {
    return writer_.ingest_sync(std::move(docs), &at);
  }
  Result<bool> remove_sync(const std::string& doc_id) { return writer_.remove_sync(doc_id); }
  Result<bool> remove_sync(const std::string& doc_id, const ChangePosition& at) {
    return writer_.remove_sync(doc_id, &at);
  }

  // The rooms, for wiring (the gateway, replication) and tests.
  LocalWriter& local_writer() { return writer_; }
  const Corpus& corpus() const { return corpus_; }

  ChangePosition change_position() const { return corpus_.position(); }
  std::uint64_t version() const { return corpus_.version(); }
  std::size_t chunk_count() const { return corpus_.chunk_count(); }
  std::size_t document_count() const { return corpus_.document_count(); }
  VectorIndex::Stats index_stats() const { return corpus_.vector_index().stats(); }
  const VectorIndex& vector_index() const { return corpus_.vector_index(); }
  // For tests: see VectorIndex::set_rebuild_hook.
  void set_index_rebuild_hook(std::function<void()> hook) { corpus_.set_index_rebuild_hook(std::move(hook)); }
  std::uint64_t degraded_searches() const { return search_.degraded_searches(); }
  // Search batching (retrieval.batch_searches). The setter is for benchmarks.
  void set_batch_searches(bool on) { search_.set_batch_searches(on); }
  // The built-in embedder; only with no external one.
  const HashEmbedder& embedder() const { return *embedding_->batch_embedder(); }
  // The embedder that makes the index's vectors.
  const Embedder& active_embedder() const { return embedding_->embedder(); }
  const RetrievalConfig& config() const { return config_; }
  SearchMode default_mode() const { return mode_; }
  // The pool's executor, for tests that hold it (see run_on in core/await.hpp).
  PoolExecutor pool_executor() { return search_.pool(); }

 private:
  const RetrievalConfig config_;
  const SearchMode mode_;
  Corpus corpus_;
  std::unique_ptr<EmbeddingStrategy> embedding_;
  SearchService search_;       // owns the pool
  SnapshotKeeper snapshots_;   // its timer runs on the pool
  LocalWriter writer_;
};

}  // namespace ragd::retrieval
