#include "ragd/retrieval/local_writer.hpp"

#include "ragd/core/await.hpp"
#include "ragd/retrieval/chunker.hpp"
#include "ragd/redis/tenant_keys.hpp"
#include "ragd/retrieval/document_validation.hpp"

#include <utility>

namespace ragd::retrieval {

LocalWriter::LocalWriter(const RetrievalConfig& config, Corpora& corpora, EmbeddingStrategy& embedding,
                         PoolExecutor pool, std::function<void()> on_change)
    : config_(config), corpora_(corpora), embedding_(embedding), pool_(pool), on_change_(std::move(on_change)) {}

Result<std::shared_ptr<Corpus>> LocalWriter::corpus_for(const std::string& tenant, const std::vector<Document>& docs,
                                                        std::size_t max_documents) {
  if (!redis::valid_tenant(tenant)) {
    return make_error(Errc::bad_request, "tenant " + std::string(redis::kTenantRule));
  }
  if (auto ok = validate_documents(docs, config_, max_documents); !ok) return ok.error();
  return corpora_.obtain(tenant);
}

Result<LocalWriter::Cut> LocalWriter::cut(Corpus& corpus, std::vector<Document> docs) {
  Cut out;
  std::vector<Chunk>& chunks = out.prepared.chunks;
  for (const Document& d : docs) {
    for (auto& c : chunk_document(d, config_.chunker)) chunks.push_back(std::move(c));
  }
  const std::int64_t first_key = corpus.allocate_keys(chunks.size());
  out.texts.reserve(chunks.size());
  out.prepared.lexical.reserve(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].id = first_key + static_cast<std::int64_t>(i);
    std::string text = indexed_text(chunks[i]);
    out.prepared.lexical.push_back(corpus.prepare_lexical(chunks[i].id, text, chunks[i].doc_id));
    out.texts.push_back(std::move(text));
  }
  out.prepared.documents = std::move(docs);
  return out;
}

Result<IngestStats> LocalWriter::ingest_sync(const std::string& tenant, std::vector<Document> docs,
                                             const ChangePosition* at) {
  auto corpus = corpus_for(tenant, docs, kAnyDocumentCount);
  if (!corpus) return corpus.error();
  auto cut_docs = cut(**corpus, std::move(docs));
  if (!cut_docs) return cut_docs.error();
  auto vectors = embedding_.embed_chunks_sync(std::move(cut_docs->texts));
  if (!vectors) return vectors.error();
  cut_docs->prepared.vectors = std::move(*vectors);
  return corpora_.add(**corpus, std::move(cut_docs->prepared), at);
}

Result<bool> LocalWriter::remove_sync(const std::string& tenant, const std::string& doc_id, const ChangePosition* at) {
  return corpora_.remove(tenant, doc_id, at);
}

// Validated and cut on the pool, embedded by the strategy, indexed on the pool.
// GCC 12 takes this coroutine frame's own operator new and delete for a mismatched pair once
// they are inlined: a known false positive of that compiler about coroutine frames.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
boost::asio::awaitable<Result<IngestStats>> LocalWriter::ingest_at(std::string tenant, std::vector<Document> docs,
                                                                   std::size_t max_documents,
                                                                   std::optional<ChangePosition> at) {
  auto cutting = [this, tenant = std::move(tenant), docs = std::move(docs),
                  max_documents]() mutable -> Result<std::pair<std::shared_ptr<Corpus>, Cut>> {
    auto corpus = corpus_for(tenant, docs, max_documents);
    if (!corpus) return corpus.error();
    auto cut_docs = cut(**corpus, std::move(docs));
    if (!cut_docs) return cut_docs.error();
    return std::pair{std::move(*corpus), std::move(*cut_docs)};
  };
  auto cut_docs = co_await run_on(pool_, std::move(cutting));
  if (!cut_docs) co_return cut_docs.error();
  auto& [corpus, parts] = *cut_docs;
  auto vectors = co_await embedding_.embed_chunks(std::move(parts.texts), pool_);
  if (!vectors) co_return vectors.error();
  parts.prepared.vectors = std::move(*vectors);
  auto indexing = [this, corpus = std::move(corpus), prepared = std::move(parts.prepared), at]() mutable {
    return corpora_.add(*corpus, std::move(prepared), at ? &*at : nullptr);
  };
  auto stats = co_await run_on(pool_, std::move(indexing));
  if (stats && on_change_) on_change_();
  co_return stats;
}
#pragma GCC diagnostic pop

boost::asio::awaitable<Result<RemoveResult>> LocalWriter::remove_at(std::string tenant, std::string doc_id,
                                                                    std::optional<ChangePosition> at) {
  // On the pool: the corpus's lock may be held by an ingest for a while.
  auto work = [this, tenant = std::move(tenant), doc_id = std::move(doc_id), at]() -> Result<RemoveResult> {
    auto removed = corpora_.remove(tenant, doc_id, at ? &*at : nullptr);
    if (!removed) return removed.error();
    return RemoveResult{*removed, corpora_.version(tenant)};
  };
  auto result = co_await run_on(pool_, std::move(work));
  // A remove at a log position changed the position even when nothing was there.
  if (result && (result->removed || at) && on_change_) on_change_();
  co_return result;
}

boost::asio::awaitable<Result<IngestStats>> LocalWriter::ingest(std::string tenant, std::vector<Document> docs) {
  return ingest_at(std::move(tenant), std::move(docs), config_.max_documents_per_request, std::nullopt);
}

boost::asio::awaitable<Result<RemoveResult>> LocalWriter::remove(std::string tenant, std::string doc_id) {
  if (auto ok = validate_document_id(doc_id); !ok) co_return ok.error();
  co_return co_await remove_at(std::move(tenant), std::move(doc_id), std::nullopt);
}

boost::asio::awaitable<Result<IngestStats>> LocalWriter::apply(std::string tenant, std::vector<Document> docs,
                                                               ChangePosition at) {
  return ingest_at(std::move(tenant), std::move(docs), kAnyDocumentCount, std::move(at));
}

boost::asio::awaitable<Result<RemoveResult>> LocalWriter::apply_remove(std::string tenant, std::string doc_id,
                                                                       ChangePosition at) {
  return remove_at(std::move(tenant), std::move(doc_id), std::move(at));
}

}  // namespace ragd::retrieval
