// EmbeddingStrategy: how queries and chunk texts become vectors, and so how a search that
// needs a query vector runs. Two strategies:
//
// - BuiltinEmbedding: the HashEmbedder, pure CPU. Everything runs on the search pool; a
//   query vector is IDF-weighted by the corpus's lexical index; with a flat or IVF index
//   concurrent searches are batched (SearchService::search_batched).
// - RemoteEmbedding: any other Embedder (a RemoteEmbedder, maybe behind a CachedEmbedder).
//   The query is embedded as asynchronous I/O and only the index work goes to the pool. A
//   hybrid search whose query cannot be embedded (the service fails, or does not answer
//   within half of retrieval.timeout_ms, leaving the rest of the leg for BM25) is answered
//   from BM25 alone instead of failing (SearchResult::degraded); a dense search fails: it
//   has nothing to fall back on.
//
// Lexical searches need no vector and never reach a strategy.
//
// Thread-safety: const members may be called from any thread; the coroutines resume on
// their caller's executor.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/embedder.hpp"
#include "ragd/retrieval/retrieval_config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

class SearchService;
struct SearchResult;

using PoolExecutor = boost::asio::thread_pool::executor_type;

class EmbeddingStrategy {
 public:
  virtual ~EmbeddingStrategy() = default;

  // The embedder that makes the corpus's vectors: its identity, dim and snapshot version.
  virtual const Embedder& embedder() const = 0;

  // A dense or hybrid search of `corpus` (one tenant's) for `query` (checked: not blank,
  // top_k >= 1) within `timeout` (kNoDeadline: none), among the documents `filter` matches
  // (null: all).
  virtual boost::asio::awaitable<Result<SearchResult>> retrieve(SearchService& service,
                                                                std::shared_ptr<const Corpus> corpus, std::string query,
                                                                int top_k, SearchMode mode,
                                                                std::chrono::milliseconds timeout,
                                                                MetadataFilterPtr filter) = 0;
  // The same on the calling thread (tools, tests, the pool itself).
  virtual Result<SearchResult> retrieve_sync(const SearchService& service, const Corpus& corpus,
                                             std::string_view query, int top_k, SearchMode mode,
                                             const MetadataFilter* filter) const = 0;

  // Chunk texts (indexed_text()) to vectors, texts.size() * dim floats; CPU work on `pool`.
  virtual boost::asio::awaitable<Result<std::vector<float>>> embed_chunks(std::vector<std::string> texts,
                                                                          PoolExecutor pool) = 0;
  virtual Result<std::vector<float>> embed_chunks_sync(std::vector<std::string> texts) const = 0;

  // An embedder cheap enough to embed a whole batch of queries inside one pool job (the
  // built-in one), so that SearchService can batch searches; null = searches run one by one.
  virtual const HashEmbedder* batch_embedder() const { return nullptr; }
};

class BuiltinEmbedding final : public EmbeddingStrategy {
 public:
  // `analyzer`: the corpus's (Corpus::analyzer()), so that vectors and BM25 see the same terms.
  BuiltinEmbedding(int dim, const AnalyzerConfig& analyzer) : embedder_(dim, analyzer) {}
  const Embedder& embedder() const override { return embedder_; }
  const HashEmbedder* batch_embedder() const override { return &embedder_; }
  boost::asio::awaitable<Result<SearchResult>> retrieve(SearchService& service, std::shared_ptr<const Corpus> corpus,
                                                        std::string query, int top_k, SearchMode mode,
                                                        std::chrono::milliseconds timeout,
                                                        MetadataFilterPtr filter) override;
  Result<SearchResult> retrieve_sync(const SearchService& service, const Corpus& corpus, std::string_view query,
                                     int top_k, SearchMode mode, const MetadataFilter* filter) const override;
  boost::asio::awaitable<Result<std::vector<float>>> embed_chunks(std::vector<std::string> texts,
                                                                  PoolExecutor pool) override;
  Result<std::vector<float>> embed_chunks_sync(std::vector<std::string> texts) const override;

 private:
  HashEmbedder embedder_;
};

class RemoteEmbedding final : public EmbeddingStrategy {
 public:
  // `query_budget`: the most a hybrid search waits for its query's vector.
  RemoteEmbedding(std::shared_ptr<Embedder> embedder, std::chrono::milliseconds query_budget)
      : embedder_(std::move(embedder)), query_budget_(query_budget) {}
  const Embedder& embedder() const override { return *embedder_; }
  boost::asio::awaitable<Result<SearchResult>> retrieve(SearchService& service, std::shared_ptr<const Corpus> corpus,
                                                        std::string query, int top_k, SearchMode mode,
                                                        std::chrono::milliseconds timeout,
                                                        MetadataFilterPtr filter) override;
  Result<SearchResult> retrieve_sync(const SearchService& service, const Corpus& corpus, std::string_view query,
                                     int top_k, SearchMode mode, const MetadataFilter* filter) const override;
  boost::asio::awaitable<Result<std::vector<float>>> embed_chunks(std::vector<std::string> texts,
                                                                  PoolExecutor pool) override;
  Result<std::vector<float>> embed_chunks_sync(std::vector<std::string> texts) const override;

 private:
  boost::asio::awaitable<Result<SearchResult>> retrieve_now(SearchService& service,
                                                            std::shared_ptr<const Corpus> corpus, std::string query,
                                                            int top_k, SearchMode mode, MetadataFilterPtr filter);

  std::shared_ptr<Embedder> embedder_;
  std::chrono::milliseconds query_budget_;
};

// `external` null = BuiltinEmbedding of config.embedding_dim and config.analyzer, else RemoteEmbedding with half
// of config.timeout_ms as the query budget.
std::unique_ptr<EmbeddingStrategy> make_embedding_strategy(const RetrievalConfig& config,
                                                           std::shared_ptr<Embedder> external);

}  // namespace ragd::retrieval
