// SearchService: answers searches over a tenant's Corpus (corpora.hpp) without blocking an
// I/O thread; a tenant without a corpus gets no hits (not an error). It owns the
// retrieval thread pool (`search_threads` threads), where embedding, FAISS search, BM25
// scoring and fusion run, and the batch queue; how a query becomes a vector is the
// EmbeddingStrategy's (embedding_strategy.hpp). Writers and snapshots borrow the pool
// (pool()) for their own CPU work.
//
// Search modes: dense (cosine over embeddings), lexical (BM25) and hybrid (both lists,
// `candidates` deep, fused as retrieval.fusion says: fusion.hpp). Hit::score is the cosine
// in dense mode, the BM25 score in lexical mode and the fused score in hybrid mode; in every
// mode higher is better, but scores of different modes are not comparable. Queries are
// analysed by the corpora's analyser (every corpus has the same), and weighted by the IDF
// of the tenant's own corpus.
//
// Batching: with the built-in embedder and a flat or IVF index, concurrent searches are
// queued and answered in batches, one dense FAISS call per tenant in a batch
// (retrieval.batch_searches; see docs/architecture.md). HNSW and remote-embedder searches each run on their own.
//
// Degraded searches (remote embedder): counted here (degraded_searches(), the counter
// ragd_retrieval_degraded_total{reason="embedder"}) and warned about at most once per 10 s,
// counting the ones not logged.
//
// Thread-safety: every member function may be called from any thread concurrently. The
// destructor waits for work already on the pool; destroy the service only after the
// coroutines using it have finished.
#pragma once

#include "ragd/core/await.hpp"
#include "ragd/core/error.hpp"
#include "ragd/retrieval/corpora.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/embedding_strategy.hpp"
#include "ragd/retrieval/retrieval_config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::metrics {
class Counter;
class Registry;
}  // namespace ragd::metrics

namespace ragd::retrieval {

// What a search found, and how.
struct SearchResult {
  std::vector<Hit> hits;
  SearchMode mode_used = SearchMode::hybrid;  // the mode that produced `hits`
  bool degraded = false;                      // answered in a lesser mode than asked
  std::string degraded_reason;                // "embedder" when degraded, else ""
};

// What every search checks first: bad_request for a blank query ("query is empty") or
// top_k < 1.
Result<void> check_search(std::string_view query, int top_k);

class SearchService {
 public:
  // `registry`, when given, gets ragd_retrieval_degraded_total and must outlive the service.
  SearchService(const RetrievalConfig& config, const Corpora& corpora, EmbeddingStrategy& embedding,
                metrics::Registry* registry = nullptr);
  ~SearchService();
  SearchService(const SearchService&) = delete;
  SearchService& operator=(const SearchService&) = delete;

  // Top `top_k` chunks of `tenant`'s corpus for `query` (of the documents `filter` matches,
  // when set), best first, without duplicate chunks or texts, in `mode`, within `timeout`
  // (Errc::deadline_exceeded "retrieval did not finish in time" when it passes first). A
  // query with no searchable words, or a tenant without documents, gives an empty list.
  // Errors: bad_request for a blank query or top_k < 1; internal when the index fails; in
  // dense mode with a remote embedder, the embedder's error (its code kept).
  boost::asio::awaitable<Result<SearchResult>> retrieve(std::string tenant, std::string query, int top_k,
                                                        SearchMode mode,
                                                        std::chrono::milliseconds timeout = kNoDeadline,
                                                        MetadataFilterPtr filter = nullptr);
  // The same on the calling thread: for the pool itself, tools and tests; never on an I/O thread.
  Result<SearchResult> retrieve_sync(std::string_view tenant, std::string_view query, int top_k, SearchMode mode,
                                     const MetadataFilter* filter = nullptr) const;

  // For strategies: a built-in query of `corpus` on the pool, batched with others when
  // batching applies.
  boost::asio::awaitable<Result<SearchResult>> search_on_pool(std::shared_ptr<const Corpus> corpus, std::string query,
                                                              int top_k, SearchMode mode,
                                                              std::chrono::milliseconds timeout,
                                                              MetadataFilterPtr filter);
  // A hybrid search goes on without its dense list: counts it and warns (rate-limited).
  void note_degraded(const Error& cause) const;

  const Corpora& corpora() const { return corpora_; }
  PoolExecutor pool() { return pool_.get_executor(); }
  // Lets work already posted finish; later posts are not run. Idempotent.
  void join() { pool_.join(); }
  std::uint64_t degraded_searches() const { return degraded_searches_.load(std::memory_order_relaxed); }
  void set_batch_searches(bool on) { batch_searches_.store(on); }

 private:
  // A search of one corpus on the calling thread.
  Result<SearchResult> search_sync(const Corpus& corpus, std::string_view query, int top_k, SearchMode mode,
                                   const MetadataFilter* filter) const;
  // What a tenant without a corpus gets: check_search()'s errors, else no hits.
  static Result<SearchResult> nothing_found(std::string_view query, int top_k, SearchMode mode);

  // Batched searches: waiting searches queue here; up to search_threads jobs on the pool
  // take everything queued, embed it, search the dense index once for all and finish each.
  struct PendingSearch;
  bool batches(SearchMode mode) const;
  void enqueue_search(std::shared_ptr<PendingSearch> search);
  void run_search_batches();
  void search_batch_now(const std::vector<std::shared_ptr<PendingSearch>>& batch,
                        std::vector<CorpusQuery>& queries) const;

  const RetrievalConfig config_;
  const Corpora& corpora_;
  EmbeddingStrategy& embedding_;
  const HashEmbedder* batch_embedder_;  // EmbeddingStrategy::batch_embedder()

  metrics::Counter* degraded_by_embedder_ = nullptr;  // in the registry, when given
  mutable std::atomic<std::uint64_t> degraded_searches_{0};
  mutable std::atomic<std::int64_t> last_degraded_warning_ms_{-(std::int64_t{1} << 62)};  // steady ms
  mutable std::atomic<std::uint64_t> degraded_not_logged_{0};

  std::atomic<bool> batch_searches_;
  std::mutex batch_mutex_;  // guards the two below
  std::vector<std::shared_ptr<PendingSearch>> batch_queue_;
  int batch_jobs_ = 0;  // jobs on the pool draining batch_queue_

  // Last: the destructor joins the pool before anything above is destroyed.
  boost::asio::thread_pool pool_;
};

}  // namespace ragd::retrieval
