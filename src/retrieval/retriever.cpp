#include "ragd/retrieval/retriever.hpp"

#include "ragd/core/await.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace ragd::retrieval {

Retriever::Retriever(const RetrievalConfig& config, std::shared_ptr<Embedder> embedder, metrics::Registry* registry)
    : config_(config),
      mode_(parse_search_mode(config.mode).value_or(SearchMode::hybrid)),
      corpora_(config, embedder ? embedder->dim() : config.embedding_dim),
      embedding_(make_embedding_strategy(config, std::move(embedder))),
      search_(config, corpora_, *embedding_, registry),
      snapshots_(config, corpora_, *embedding_, search_.pool()),
      writer_(config, corpora_, *embedding_, search_.pool(), [this] { snapshots_.schedule(); }) {}

Retriever::~Retriever() {
  snapshots_.close();
  // Lets work already posted finish (its coroutines still expect an answer) before the
  // corpus it uses is destroyed.
  search_.join();
  if (snapshots_.unsaved()) {
    if (auto saved = snapshots_.save_sync(); !saved) {
      spdlog::error("snapshot save at shutdown failed: {}", log_text(saved.error()));
    }
  }
}

boost::asio::awaitable<Result<SearchResult>> Retriever::retrieve(std::string tenant, std::string query, int top_k,
                                                                 SearchMode mode, std::chrono::milliseconds timeout,
                                                                 MetadataFilterPtr filter) {
  return search_.retrieve(std::move(tenant), std::move(query), top_k, mode, timeout, std::move(filter));
}

boost::asio::awaitable<Result<SearchResult>> Retriever::retrieve(std::string query, int top_k, SearchMode mode,
                                                                 std::chrono::milliseconds timeout,
                                                                 MetadataFilterPtr filter) {
  return search_.retrieve(kDefault, std::move(query), top_k, mode, timeout, std::move(filter));
}

boost::asio::awaitable<Result<std::vector<Hit>>> Retriever::search(std::string query, int top_k) {
  co_return co_await search(std::move(query), top_k, mode_);
}

boost::asio::awaitable<Result<std::vector<Hit>>> Retriever::search(std::string query, int top_k, SearchMode mode) {
  auto found = co_await search_.retrieve(kDefault, std::move(query), top_k, mode);
  if (!found) co_return found.error();
  co_return std::move(found->hits);
}

Result<SearchResult> Retriever::retrieve_sync(std::string_view tenant, std::string_view query, int top_k,
                                              SearchMode mode, const MetadataFilter* filter) const {
  return search_.retrieve_sync(tenant, query, top_k, mode, filter);
}

Result<SearchResult> Retriever::retrieve_sync(std::string_view query, int top_k, SearchMode mode,
                                              const MetadataFilter* filter) const {
  return search_.retrieve_sync(kDefault, query, top_k, mode, filter);
}

Result<std::vector<Hit>> Retriever::search_sync(std::string_view query, int top_k) const {
  return search_sync(query, top_k, mode_);
}

Result<std::vector<Hit>> Retriever::search_sync(std::string_view query, int top_k, SearchMode mode) const {
  auto found = search_.retrieve_sync(kDefault, query, top_k, mode);
  if (!found) return found.error();
  return std::move(found->hits);
}

boost::asio::awaitable<Result<IngestStats>> Retriever::ingest(std::vector<Document> docs) {
  return writer_.ingest(kDefault, std::move(docs));
}

boost::asio::awaitable<Result<IngestStats>> Retriever::ingest(std::string tenant, std::vector<Document> docs) {
  return writer_.ingest(std::move(tenant), std::move(docs));
}

boost::asio::awaitable<Result<IngestStats>> Retriever::ingest(std::vector<Document> docs, ChangePosition at) {
  return writer_.apply(kDefault, std::move(docs), std::move(at));
}

boost::asio::awaitable<Result<bool>> Retriever::remove(std::string doc_id) {
  auto removed = co_await writer_.remove(kDefault, std::move(doc_id));
  if (!removed) co_return removed.error();
  co_return removed->removed;
}

boost::asio::awaitable<std::optional<StoredDocument>> Retriever::document(std::string tenant, std::string doc_id) {
  // On the pool: the corpus's lock may be held by an ingest for a while.
  const Corpora& corpora = corpora_;
  auto work = [&corpora, tenant = std::move(tenant), doc_id = std::move(doc_id)] {
    return corpora.document(tenant, doc_id);
  };
  co_return co_await run_on(search_.pool(), std::move(work));
}

boost::asio::awaitable<DocumentPage> Retriever::list_documents(std::string tenant, std::string after,
                                                               std::size_t limit) {
  const Corpora& corpora = corpora_;
  auto work = [&corpora, tenant = std::move(tenant), after = std::move(after), limit] {
    return corpora.list_documents(tenant, after, limit);
  };
  co_return co_await run_on(search_.pool(), std::move(work));
}

}  // namespace ragd::retrieval
