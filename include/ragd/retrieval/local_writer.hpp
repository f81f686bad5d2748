// LocalWriter: writes to this process's corpora, each change to its tenant's Corpus (created
// on the tenant's first write; corpora.hpp). A write is validated once
// (document_validation.hpp), cut into chunks once, embedded by the EmbeddingStrategy (on the
// pool, or as I/O for a remote embedder) and then indexed on the pool, so an I/O thread
// never blocks on it. Each change that stored something calls `on_change` (the snapshot
// schedule).
//
// Besides the request path (DocumentWriter), it applies changes of an ordered log at their
// position (apply, apply_remove: the replication follower), and has blocking forms for
// tools that load whole corpora (no request limit).
//
// Thread-safety: every member function may be called from any thread concurrently.
#pragma once

#include "ragd/retrieval/corpora.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/document_writer.hpp"
#include "ragd/retrieval/embedding_strategy.hpp"
#include "ragd/retrieval/retrieval_config.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ragd::retrieval {

class LocalWriter final : public DocumentWriter {
 public:
  LocalWriter(const RetrievalConfig& config, Corpora& corpora, EmbeddingStrategy& embedding, PoolExecutor pool,
              std::function<void()> on_change);

  boost::asio::awaitable<Result<IngestStats>> ingest(std::string tenant, std::vector<Document> docs) override;
  boost::asio::awaitable<Result<RemoveResult>> remove(std::string tenant, std::string doc_id) override;

  // A change of an ordered log, applied at `at`: the change, position() and the tenant's
  // version move together (corpora.hpp). Validated (a log entry is input too), without the
  // request limit.
  boost::asio::awaitable<Result<IngestStats>> apply(std::string tenant, std::vector<Document> docs, ChangePosition at);
  boost::asio::awaitable<Result<RemoveResult>> apply_remove(std::string tenant, std::string doc_id, ChangePosition at);

  // Blocking forms, on the calling thread (never an I/O thread); no request limit and no
  // on_change (the caller decides when to save).
  Result<IngestStats> ingest_sync(const std::string& tenant, std::vector<Document> docs,
                                  const ChangePosition* at = nullptr);
  Result<bool> remove_sync(const std::string& tenant, const std::string& doc_id, const ChangePosition* at = nullptr);

  // Where a log's follower resumes, and how much the corpora held before it.
  ChangePosition position() const { return corpora_.position(); }
  std::size_t document_count() const { return corpora_.document_count(); }
  const RetrievalConfig& config() const { return config_; }

 private:
  // Validated documents cut into chunks (keys assigned, BM25 texts prepared) and the
  // texts to embed, one per chunk.
  struct Cut {
    PreparedDocuments prepared;
    std::vector<std::string> texts;
  };
  Result<Cut> cut(Corpus& corpus, std::vector<Document> docs);
  // The tenant's corpus once the documents are valid (so that invalid input creates none).
  Result<std::shared_ptr<Corpus>> corpus_for(const std::string& tenant, const std::vector<Document>& docs,
                                             std::size_t max_documents);
  boost::asio::awaitable<Result<IngestStats>> ingest_at(std::string tenant, std::vector<Document> docs,
                                                        std::size_t max_documents, std::optional<ChangePosition> at);
  boost::asio::awaitable<Result<RemoveResult>> remove_at(std::string tenant, std::string doc_id,
                                                         std::optional<ChangePosition> at);

  const RetrievalConfig config_;
  Corpora& corpora_;
  EmbeddingStrategy& embedding_;
  PoolExecutor pool_;
  std::function<void()> on_change_;
};

}  // namespace ragd::retrieval
