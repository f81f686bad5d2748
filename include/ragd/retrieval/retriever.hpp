// Retriever: the document store and search engine of the gateway. It owns the embedder,
// the dense vector index, the lexical BM25 index, the chunk store (chunk key -> Chunk, doc
// id -> its chunk keys) and a thread pool of `search_threads` threads. Embedding, FAISS
// search, BM25 scoring, indexing and snapshot writing all run on that pool: the coroutine
// API (search, ingest, remove, save_snapshot) hops onto the pool and resumes the caller on
// its own executor, so an I/O thread never blocks on retrieval. With an external embedder
// (remote_embedder.hpp) the embedding is awaited as I/O instead and only the index work
// goes to the pool.
//
// Search modes: dense (cosine over hash embeddings), lexical (BM25) and hybrid (both lists,
// `candidates` deep, fused as retrieval.fusion says: fusion.hpp). Hit::score is the cosine
// in dense mode, the BM25 score in lexical mode and the fused score in hybrid mode; in every mode
// higher is better, but scores of different modes are not comparable.
//
// Degraded searches: with an external embedder, a hybrid search whose query cannot be
// embedded (the service fails, or does not answer within half of retrieval.timeout_ms, so
// that the rest of the leg's time is left for BM25) is answered from BM25 alone instead
// of failing: SearchResult::degraded is set, mode_used is lexical, the counter
// ragd_retrieval_degraded_total{reason="embedder"} grows and a warning is logged (at most
// one line per 10 s, counting the ones not logged). A dense search fails instead: it has
// nothing to fall back on.
//
// Batching: with the built-in embedder and a flat or IVF index, concurrent searches are
// queued and answered in batches, one dense FAISS call per batch (retrieval.batch_searches;
// see docs/architecture.md). HNSW and remote-embedder searches each run on their own.
//
// Documents: besides the chunks, the store keeps each document's title, metadata and text
// as ingested (document()), and snapshots save them.
//
// Consistency: a search sees either all or none of an ingest (the store and both indexes
// are updated together under one exclusive lock, after the slow chunking, embedding and
// tokenising are done without it). version() grows by one with every ingest and every
// remove that changed something; it is part of answer-cache keys, so new documents are
// never hidden behind old answers.
//
// Persistence (when `snapshot_path` is set): load_snapshot() restores the store at start;
// ingest() and remove() arm a timer that saves a snapshot `snapshot_interval_ms` after the
// first unsaved change, so a burst of ingests costs one save; save_snapshot() saves now
// (at shutdown). Saves are serialised and skipped when nothing changed since the last.
// The destructor saves unsaved changes too, as a safety net.
//
// Thread-safety: every member function may be called from any thread concurrently. The
// destructor waits for work already on the pool; destroy the Retriever only after the
// coroutines using it have finished.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/retrieval/bm25_index.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/embedder.hpp"
#include "ragd/retrieval/vector_index.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ragd::metrics {
class Counter;
class Registry;
}  // namespace ragd::metrics

namespace ragd::retrieval {

inline constexpr std::size_t kMaxDocumentIdChars = 256;
inline constexpr std::size_t kMaxDocumentTitleChars = 1024;
inline constexpr std::size_t kMaxMetadataBytes = 4096;  // a document's metadata as JSON text

enum class SearchMode { dense, lexical, hybrid };

// "dense", "lexical", "hybrid"; nullopt for anything else.
std::optional<SearchMode> parse_search_mode(std::string_view name);
std::string_view to_string(SearchMode mode);

// What a search found, and how (see "Degraded searches" above).
struct SearchResult {
  std::vector<Hit> hits;
  SearchMode mode_used = SearchMode::hybrid;  // the mode that produced `hits`
  bool degraded = false;                      // answered in a lesser mode than asked
  std::string degraded_reason;                // "embedder" when degraded, else ""
};

struct IngestStats {
  std::size_t documents = 0;        // documents indexed by this call
  std::size_t chunks = 0;           // chunks indexed by this call
  std::uint64_t index_version = 0;  // version() right after this call's change
};

// Replication (ragd/replication): the last ingest-stream entry the store reflects. It
// changes together with the store, under the same lock, and is saved in snapshots, so a
// restarted replica resumes right after it.
struct ReplicationPosition {
  std::string stream_id;       // "" = no entry applied
  std::uint64_t sequence = 0;  // the entry's sequence number (0 = none)
};

struct SnapshotStats {
  std::size_t documents = 0;
  std::size_t chunks = 0;
  std::uint64_t index_version = 0;
  std::size_t bytes = 0;    // file size
  bool skipped = false;     // save: nothing changed since the last snapshot
  bool reembedded = false;  // load: stored vectors came from another embedder; recomputed
};

// Checks each document: id non-empty and at most kMaxDocumentIdChars, no id twice in the
// batch, title at most kMaxDocumentTitleChars, text non-blank and at most
// `max_document_chars`, metadata at most kMaxMetadataBytes. The error (Errc::bad_request) names the index and field, e.g.
// "documents[2].text is empty".
Result<void> validate_documents(const std::vector<Document>& docs, std::size_t max_document_chars);

class Retriever {
 public:
  // `embedder` null = the built-in HashEmbedder of config.embedding_dim, embedding on the
  // pool. Any other Embedder (a RemoteEmbedder, maybe behind a CachedEmbedder) is awaited
  // as asynchronous I/O by search() and ingest(), and only the index work goes to the pool;
  // the blocking forms call its embed_documents_sync(). `registry`, when given, gets the
  // retrieval metrics (ragd_retrieval_degraded_total) and must outlive the Retriever.
  explicit Retriever(const RetrievalConfig& config, std::shared_ptr<Embedder> embedder = nullptr,
                     metrics::Registry* registry = nullptr);
  ~Retriever();
  Retriever(const Retriever&) = delete;
  Retriever& operator=(const Retriever&) = delete;

  // Top `top_k` chunks for `query`, best first, without duplicate chunks or duplicate
  // texts, in the configured mode (or `mode`). A query with no searchable words gives an
  // empty list. Errors: bad_request for a blank query or top_k < 1; internal when the
  // index fails; in dense mode with an external embedder, the embedder's error (its code
  // kept: upstream_error, unavailable, deadline_exceeded). search() is retrieve() without
  // the account of how: a degraded hybrid search gives its BM25 hits all the same.
  boost::asio::awaitable<Result<SearchResult>> retrieve(std::string query, int top_k, SearchMode mode);
  // The same within `timeout`: Errc::deadline_exceeded ("retrieval did not finish in time")
  // when it passes first. A search on the pool is awaited against a timer directly, without
  // a race of two spawned coroutines.
  boost::asio::awaitable<Result<SearchResult>> retrieve(std::string query, int top_k, SearchMode mode,
                                                        std::chrono::milliseconds timeout);
  boost::asio::awaitable<Result<std::vector<Hit>>> search(std::string query, int top_k);
  boost::asio::awaitable<Result<std::vector<Hit>>> search(std::string query, int top_k,
                                                          SearchMode mode);

  // Chunks, embeds and indexes `docs`; a document whose id is already indexed is
  // replaced. All or nothing: when any document is invalid nothing is indexed. Also
  // refuses more than `max_documents_per_request` documents (the request-path limit;
  // ingest_sync, used by tools loading whole corpora, does not apply it).
  boost::asio::awaitable<Result<IngestStats>> ingest(std::vector<Document> docs);
  // ingest_sync(docs, at) as a coroutine: with an external embedder the embedding is
  // awaited as I/O instead of blocking a pool thread. No request-path limit, no snapshot
  // scheduling (the caller decides).
  boost::asio::awaitable<Result<IngestStats>> ingest(std::vector<Document> docs, ReplicationPosition at);

  // Removes a document's chunks; true when it was indexed.
  boost::asio::awaitable<Result<bool>> remove(std::string doc_id);

  // The stored document (title, metadata, text as ingested, chunk count); nullopt when
  // no document has that id.
  boost::asio::awaitable<std::optional<StoredDocument>> document(std::string doc_id);
  std::optional<StoredDocument> document_sync(const std::string& doc_id) const;

  // Snapshots (no-ops returning skipped stats when `snapshot_path` is empty).
  // load_snapshot: call once at start, before serving, on an empty Retriever. A missing
  // file (Errc::not_found) or a corrupt one (Errc::internal; the file is renamed to
  // `<path>.corrupt` for inspection, so later saves do not overwrite it) leaves the
  // Retriever empty; either way it logs one line saying so.
  Result<SnapshotStats> load_snapshot();
  // save_snapshot: writes a snapshot now on the pool, unless nothing changed.
  boost::asio::awaitable<Result<SnapshotStats>> save_snapshot();
  Result<SnapshotStats> save_snapshot_sync();
  // Arms the batching timer (ingest() and remove() call this themselves).
  void schedule_snapshot();

  // Blocking forms of the above: they do the work on the calling thread. For the pool
  // itself, tools (ragctl), tests and benchmarks; never call them on an I/O thread.
  Result<SearchResult> retrieve_sync(std::string_view query, int top_k, SearchMode mode) const;
  Result<std::vector<Hit>> search_sync(std::string_view query, int top_k) const;
  Result<std::vector<Hit>> search_sync(std::string_view query, int top_k, SearchMode mode) const;
  Result<IngestStats> ingest_sync(std::vector<Document> docs);
  Result<bool> remove_sync(const std::string& doc_id);
  // The same, applying ingest-stream entry `at`: the change, replication_position() and
  // version() move together. version() becomes at.sequence when that is ahead of it (so
  // replicas that applied the same entries report the same version), else it grows by
  // one as usual; it never goes back. A remove that finds nothing still records `at`.
  Result<IngestStats> ingest_sync(std::vector<Document> docs, const ReplicationPosition& at);
  Result<bool> remove_sync(const std::string& doc_id, const ReplicationPosition& at);
  ReplicationPosition replication_position() const;

  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::size_t chunk_count() const;
  std::size_t document_count() const;
  VectorIndex::Stats index_stats() const { return index_.stats(); }
  const VectorIndex& vector_index() const { return index_; }
  // For tests: see VectorIndex::set_rebuild_hook.
  void set_index_rebuild_hook(std::function<void()> hook) { index_.set_rebuild_hook(std::move(hook)); }
  // Searches answered in a lesser mode than asked since construction (see above).
  std::uint64_t degraded_searches() const { return degraded_searches_.load(std::memory_order_relaxed); }
  // Search batching (retrieval.batch_searches; see search()). The setter is for benchmarks.
  void set_batch_searches(bool on) { batch_searches_.store(on); }
  const HashEmbedder& embedder() const { return embedder_; }
  // The embedder that makes the index's vectors: the external one when given, else embedder().
  const Embedder& active_embedder() const;
  const RetrievalConfig& config() const { return config_; }
  SearchMode default_mode() const { return mode_; }

  // The pool's executor, for callers that want to run their own blocking work beside
  // retrieval (see run_on in core/await.hpp).
  boost::asio::thread_pool::executor_type pool_executor() { return pool_.get_executor(); }

 private:
  // `vectors`: the chunks' vectors, already computed by the external embedder (ingest());
  // null = embed here.
  Result<IngestStats> ingest_at(std::vector<Document> docs, const ReplicationPosition* at,
                                const std::vector<float>* vectors = nullptr);
  boost::asio::awaitable<Result<IngestStats>> ingest_external(std::vector<Document> docs,
                                                              std::optional<ReplicationPosition> at);
  Result<bool> remove_at(const std::string& doc_id, const ReplicationPosition* at);
  // Bumps version() for one change (see remove_sync); call with store_mutex_ held.
  std::uint64_t advance_version(const ReplicationPosition* at);
  // `dense`: the dense list when already searched (batched searches), else null.
  Result<std::vector<ScoredId>> ranked_keys(const AnalyzedText& query, const std::vector<float>& vec,
                                            int depth, SearchMode mode,
                                            std::vector<ScoredId>* dense = nullptr) const;
  // search_with_vector() with store_mutex_ held (shared).
  Result<std::vector<Hit>> hits_locked(const AnalyzedText& query, const std::vector<float>& vec, int top_k,
                                       SearchMode mode, std::vector<ScoredId>* dense) const;
  // Batched searches: waiting searches queue here; up to search_threads jobs on the pool
  // take everything queued, embed it, search the dense index once for all and finish each.
  struct PendingSearch;
  bool batches(SearchMode mode) const;
  void enqueue_search(std::shared_ptr<PendingSearch> search);
  void run_search_batches();
  void search_batch_now(const std::vector<std::shared_ptr<PendingSearch>>& batch,
                        std::vector<std::optional<Result<std::vector<Hit>>>>& results) const;
  // search_sync() after embedding: `query` holds the query's terms (the analyser's), `vec`
  // its vector (empty in lexical mode).
  Result<std::vector<Hit>> search_with_vector(const AnalyzedText& query, const std::vector<float>& vec, int top_k,
                                              SearchMode mode) const;
  // retrieve() with the external embedder.
  boost::asio::awaitable<Result<SearchResult>> retrieve_external(std::string query, int top_k, SearchMode mode);
  // A hybrid search goes on without its dense list: counts it and warns (rate-limited).
  void note_degraded(const Error& cause) const;

  RetrievalConfig config_;
  SearchMode mode_;
  HashEmbedder embedder_;
  std::shared_ptr<Embedder> external_embedder_;  // null = embedder_
  VectorIndex index_;
  Bm25Index lexical_;

  // Guards chunks_ and doc_chunks_ and keeps them in step with index_ and lexical_.
  mutable std::shared_mutex store_mutex_;
  std::unordered_map<std::int64_t, Chunk> chunks_;
  std::unordered_map<std::string, std::vector<std::int64_t>> doc_chunks_;
  struct DocumentInfo {
    std::string title;
    std::string metadata;
    std::string text;
  };
  std::unordered_map<std::string, DocumentInfo> documents_;  // same keys as doc_chunks_
  ReplicationPosition position_;

  metrics::Counter* degraded_by_embedder_ = nullptr;  // in the registry, when given
  mutable std::atomic<std::uint64_t> degraded_searches_{0};
  mutable std::atomic<std::int64_t> last_degraded_warning_ms_{-(std::int64_t{1} << 62)};  // steady ms
  mutable std::atomic<std::uint64_t> degraded_not_logged_{0};

  std::atomic<bool> batch_searches_{config_.batch_searches};
  std::mutex batch_mutex_;  // guards the two below
  std::vector<std::shared_ptr<PendingSearch>> batch_queue_;
  int batch_jobs_ = 0;  // jobs on the pool draining batch_queue_

  std::atomic<std::int64_t> next_chunk_key_{1};
  std::atomic<std::uint64_t> version_{0};

  std::mutex save_mutex_;  // one save at a time (they share `<path>.tmp`)
  std::atomic<std::uint64_t> saved_version_{0};

  // The destructor joins the pool before anything above is destroyed.
  boost::asio::thread_pool pool_;

  std::mutex timer_mutex_;  // guards the timer and the two flags below
  boost::asio::steady_timer snapshot_timer_;  // on the pool; destroyed before it
  bool timer_armed_ = false;
  bool closing_ = false;
};

}  // namespace ragd::retrieval
