// Retriever: the gateway's document store and search engine, assembled from its rooms:
//
// - Corpora (corpora.hpp): one Corpus (corpus.hpp: documents, chunks, both indexes,
//   version; synchronous, one lock, no threads) per tenant, and the change position.
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
// thread). Forms that name no tenant act on the tenant "default" (redis::kDefaultTenant):
// tools (ragctl, evaluation) and a gateway with auth off; request paths always pass the
// caller's tenant.
//
// Thread-safety: every member function may be called from any thread concurrently. The
// destructor waits for work already on the pool and saves unsaved changes (a safety net);
// destroy the Retriever only after the coroutines using it have finished.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/redis/tenant_keys.hpp"
#include "ragd/retrieval/corpora.hpp"
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
  boost::asio::awaitable<Result<SearchResult>> retrieve(std::string tenant, std::string query, int top_k,
                                                        SearchMode mode,
                                                        std::chrono::milliseconds timeout = kNoDeadline,
                                                        MetadataFilterPtr filter = nullptr);
  boost::asio::awaitable<Result<SearchResult>> retrieve(std::string query, int top_k, SearchMode mode,
                                                        std::chrono::milliseconds timeout = kNoDeadline,
                                                        MetadataFilterPtr filter = nullptr);
  boost::asio::awaitable<Result<std::vector<Hit>>> search(std::string query, int top_k);
  boost::asio::awaitable<Result<std::vector<Hit>>> search(std::string query, int top_k, SearchMode mode);

  // Writes through the LocalWriter. ingest(docs) applies the request limit and schedules a
  // snapshot; ingest(docs, at) applies a log entry at its position (LocalWriter::apply).
  boost::asio::awaitable<Result<IngestStats>> ingest(std::vector<Document> docs);
  boost::asio::awaitable<Result<IngestStats>> ingest(std::vector<Document> docs, ChangePosition at);
  boost::asio::awaitable<Result<IngestStats>> ingest(std::string tenant, std::vector<Document> docs);
  // Removes a document's chunks; true when it was indexed.
  boost::asio::awaitable<Result<bool>> remove(std::string doc_id);

  // The tenant's stored document (title, metadata, text as ingested, chunk count); nullopt
  // when the tenant has no document with that id. The coroutine reads on the pool (an
  // ingest may hold the lock).
  boost::asio::awaitable<std::optional<StoredDocument>> document(std::string tenant, std::string doc_id);
  std::optional<StoredDocument> document_sync(const std::string& doc_id) const {
    return corpora_.document(kDefault, doc_id);
  }
  std::optional<StoredDocument> document_sync(std::string_view tenant, const std::string& doc_id) const {
    return corpora_.document(tenant, doc_id);
  }
  // A page of the tenant's document listing (Corpus::list_documents), read on the pool.
  boost::asio::awaitable<DocumentPage> list_documents(std::string tenant, std::string after, std::size_t limit);

  // Snapshots (SnapshotKeeper): load once at start, before serving; save now; schedule.
  Result<SnapshotStats> load_snapshot() { return snapshots_.load(); }
  boost::asio::awaitable<Result<SnapshotStats>> save_snapshot() { return snapshots_.save(); }
  Result<SnapshotStats> save_snapshot_sync() { return snapshots_.save_sync(); }
  void schedule_snapshot() { snapshots_.schedule(); }

  // Blocking forms, on the calling thread.
  Result<SearchResult> retrieve_sync(std::string_view tenant, std::string_view query, int top_k, SearchMode mode,
                                     const MetadataFilter* filter = nullptr) const;
  Result<SearchResult> retrieve_sync(std::string_view query, int top_k, SearchMode mode,
                                     const MetadataFilter* filter = nullptr) const;
  Result<std::vector<Hit>> search_sync(std::string_view query, int top_k) const;
  Result<std::vector<Hit>> search_sync(std::string_view query, int top_k, SearchMode mode) const;
  Result<IngestStats> ingest_sync(const std::string& tenant, std::vector<Document> docs) {
    return writer_.ingest_sync(tenant, std::move(docs));
  }
  Result<IngestStats> ingest_sync(std::vector<Document> docs) { return writer_.ingest_sync(kDefault, std::move(docs)); }
  Result<IngestStats> ingest_sync(std::vector<Document> docs, const ChangePosition& at) {
    return writer_.ingest_sync(kDefault, std::move(docs), &at);
  }
  Result<bool> remove_sync(const std::string& doc_id) { return writer_.remove_sync(kDefault, doc_id); }
  Result<bool> remove_sync(const std::string& doc_id, const ChangePosition& at) {
    return writer_.remove_sync(kDefault, doc_id, &at);
  }

  // The rooms, for wiring (the gateway, replication) and tests.
  LocalWriter& local_writer() { return writer_; }
  const Corpora& corpora() const { return corpora_; }
  // The default tenant's corpus, created when it has none (tools and tests that look inside).
  const Corpus& corpus() { return *corpora_.obtain(kDefault); }

  ChangePosition change_position() const { return corpora_.position(); }
  // The tenant's index version: part of its answers' cache keys.
  std::uint64_t version(std::string_view tenant) const { return corpora_.version(tenant); }
  // The default tenant's.
  std::uint64_t version() const { return corpora_.version(kDefault); }
  // Totals over every tenant.
  std::size_t chunk_count() const { return corpora_.chunk_count(); }
  std::size_t document_count() const { return corpora_.document_count(); }
  VectorIndex::Stats index_stats() const { return corpora_.index_stats(); }
  // The default tenant's index (tools and tests).
  const VectorIndex& vector_index() { return corpus().vector_index(); }
  // For tests: see VectorIndex::set_rebuild_hook (the default tenant's index).
  void set_index_rebuild_hook(std::function<void()> hook) {
    corpora_.obtain(kDefault)->set_index_rebuild_hook(std::move(hook));
  }
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
  static inline const std::string kDefault{redis::kDefaultTenant};

  const RetrievalConfig config_;
  const SearchMode mode_;
  Corpora corpora_;
  std::unique_ptr<EmbeddingStrategy> embedding_;
  SearchService search_;       // owns the pool
  SnapshotKeeper snapshots_;   // its timer runs on the pool
  LocalWriter writer_;
};

}  // namespace ragd::retrieval
