#include "ragd/retrieval/embedding_strategy.hpp"

#include "ragd/core/await.hpp"
#include "ragd/retrieval/search_service.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <algorithm>
#include <utility>

namespace ragd::retrieval {
namespace {

// A dense search with no query vector has nothing to fall back on: the embedder's error,
// its code kept (it says whether to retry), with what failed.
Error dense_search_error(const Error& cause) {
  return prefixed("dense search needs the query's embedding, and the embedding service failed: ", cause);
}

// Where a query vector could not be had: fail (dense mode, or the caller has gone) or
// answer from BM25 alone (hybrid), counted by the service. Returns the error to fail with.
std::optional<Error> degrade(const SearchService& service, const Error& cause, SearchMode mode, SearchResult& out) {
  if (mode == SearchMode::dense || cause.code == Errc::cancelled) return dense_search_error(cause);
  service.note_degraded(cause);
  out.mode_used = SearchMode::lexical;
  out.degraded = true;
  out.degraded_reason = "embedder";
  return std::nullopt;
}

}  // namespace

// ---- built-in: everything on the pool ------------------------------------------------------

boost::asio::awaitable<Result<SearchResult>> BuiltinEmbedding::retrieve(SearchService& service,
                                                                        std::shared_ptr<const Corpus> corpus,
                                                                        std::string query, int top_k, SearchMode mode,
                                                                        std::chrono::milliseconds timeout,
                                                                        MetadataFilterPtr filter) {
  return service.search_on_pool(std::move(corpus), std::move(query), top_k, mode, timeout, std::move(filter));
}

Result<SearchResult> BuiltinEmbedding::retrieve_sync(const SearchService&, const Corpus& corpus, std::string_view query,
                                                     int top_k, SearchMode mode, const MetadataFilter* filter) const {
  if (auto ok = check_search(query, top_k); !ok) return ok.error();
  // Embedding happens before the corpus's lock, so readers hold it only while searching and
  // ingests are not starved. Query terms are weighted by their IDF in the lexical index:
  // without it "patients" and "study" weigh as much as "rapamycin" in a hash embedding.
  AnalyzedText terms;
  corpus.analyzer().analyze(query, terms);
  std::vector<float> idf;
  corpus.idf_of_terms(terms, idf);
  const std::vector<float> vec = embedder_.embed_terms(terms, idf);
  auto hits = corpus.search(terms, vec, top_k, mode, filter);
  if (!hits) return hits.error();
  SearchResult out;
  out.mode_used = mode;
  out.hits = std::move(*hits);
  return out;
}

boost::asio::awaitable<Result<std::vector<float>>> BuiltinEmbedding::embed_chunks(std::vector<std::string> texts,
                                                                                   PoolExecutor pool) {
  auto work = [this, texts = std::move(texts)]() mutable { return embed_chunks_sync(std::move(texts)); };
  co_return co_await run_on(pool, std::move(work));
}

Result<std::vector<float>> BuiltinEmbedding::embed_chunks_sync(std::vector<std::string> texts) const {
  const auto dim = static_cast<std::size_t>(embedder_.dim());
  std::vector<float> vectors(texts.size() * dim);
  for (std::size_t i = 0; i < texts.size(); ++i) embedder_.embed_into(texts[i], vectors.data() + i * dim);
  return vectors;
}

// ---- remote: the query embedded as I/O, the rest on the pool -------------------------------

boost::asio::awaitable<Result<SearchResult>> RemoteEmbedding::retrieve(SearchService& service,
                                                                       std::shared_ptr<const Corpus> corpus,
                                                                       std::string query, int top_k, SearchMode mode,
                                                                       std::chrono::milliseconds timeout,
                                                                       MetadataFilterPtr filter) {
  if (timeout == kNoDeadline) {
    co_return co_await retrieve_now(service, std::move(corpus), std::move(query), top_k, mode, std::move(filter));
  }
  co_return co_await with_timeout(
      retrieve_now(service, std::move(corpus), std::move(query), top_k, mode, std::move(filter)), timeout,
      "retrieval");
}

boost::asio::awaitable<Result<SearchResult>> RemoteEmbedding::retrieve_now(SearchService& service,
                                                                           std::shared_ptr<const Corpus> corpus,
                                                                           std::string query, int top_k,
                                                                           SearchMode mode, MetadataFilterPtr filter) {
  if (auto ok = check_search(query, top_k); !ok) co_return ok.error();
  Result<std::vector<float>> vec = std::vector<float>();
  if (mode == SearchMode::hybrid) {
    // A budget, so that the BM25 answer still fits in the rest of the leg.
    vec = co_await with_timeout(embedder_->embed_query(query), query_budget_, "the embedding service");
  } else {
    vec = co_await embedder_->embed_query(query);
  }
  SearchResult out;
  out.mode_used = mode;
  if (!vec) {
    if (auto failed = degrade(service, vec.error(), mode, out)) co_return *failed;
    vec = std::vector<float>();
  }
  auto work = [corpus = std::move(corpus), query = std::move(query), vec = std::move(*vec), top_k,
               mode = out.mode_used, filter = std::move(filter)] {
    AnalyzedText terms;
    corpus->analyzer().analyze(query, terms);
    return corpus->search(terms, vec, top_k, mode, filter.get());
  };
  auto hits = co_await run_on(service.pool(), std::move(work));
  if (!hits) co_return hits.error();
  out.hits = std::move(*hits);
  co_return out;
}

Result<SearchResult> RemoteEmbedding::retrieve_sync(const SearchService& service, const Corpus& corpus,
                                                    std::string_view query, int top_k, SearchMode mode,
                                                    const MetadataFilter* filter) const {
  if (auto ok = check_search(query, top_k); !ok) return ok.error();
  SearchResult out;
  out.mode_used = mode;
  AnalyzedText terms;
  corpus.analyzer().analyze(query, terms);
  std::vector<float> vec;
  std::vector<std::string> texts{std::string(query)};
  auto embedded = embedder_->embed_documents_sync(std::move(texts));
  if (embedded) {
    vec = std::move(*embedded);
  } else if (auto failed = degrade(service, embedded.error(), mode, out)) {
    return *failed;
  }
  auto hits = corpus.search(terms, vec, top_k, out.mode_used, filter);
  if (!hits) return hits.error();
  out.hits = std::move(*hits);
  return out;
}

boost::asio::awaitable<Result<std::vector<float>>> RemoteEmbedding::embed_chunks(std::vector<std::string> texts,
                                                                                  PoolExecutor) {
  return embedder_->embed_documents(std::move(texts));
}

Result<std::vector<float>> RemoteEmbedding::embed_chunks_sync(std::vector<std::string> texts) const {
  return embedder_->embed_documents_sync(std::move(texts));
}

std::unique_ptr<EmbeddingStrategy> make_embedding_strategy(const RetrievalConfig& config,
                                                           std::shared_ptr<Embedder> external) {
  if (!external) return std::make_unique<BuiltinEmbedding>(config.embedding_dim, config.analyzer);
  return std::make_unique<RemoteEmbedding>(std::move(external),
                                           std::chrono::milliseconds(std::max(1, config.timeout_ms / 2)));
}

}  // namespace ragd::retrieval
