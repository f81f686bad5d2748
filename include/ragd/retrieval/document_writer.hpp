// DocumentWriter: the one write interface of the document store, for the HTTP API and
// anything else that adds or removes documents on a request's behalf. Two implementations:
// LocalWriter (local_writer.hpp) changes this process's Corpus; replication::Replicator
// publishes the change to every replica and answers once its own replica applied it. The
// caller does not know which it has.
//
// Every change is a tenant's: documents are stored in, and removed from, that tenant's
// corpus only (corpora.hpp); the same id in two tenants names two documents.
//
// Both validate first, in the one place (document_validation.hpp, with the request limit
// retrieval.max_documents_per_request): a bad_request changes nothing anywhere.
//
// Thread-safety: implementations may be called from any thread concurrently.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/document.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ragd::retrieval {

struct RemoveResult {
  bool removed = false;  // the document was indexed when the delete was applied
  std::uint64_t index_version = 0;
};

class DocumentWriter {
 public:
  virtual ~DocumentWriter() = default;

  // Chunks, embeds and indexes `docs` in `tenant`'s corpus; a document whose id the tenant
  // already has is replaced. All or nothing. Errors: bad_request (invalid documents, nothing
  // changed); the embedder's (upstream_error, unavailable, deadline_exceeded); the
  // implementation's. IngestStats::index_version is the tenant's.
  virtual boost::asio::awaitable<Result<IngestStats>> ingest(std::string tenant, std::vector<Document> docs) = 0;

  // Removes one of `tenant`'s documents; removed=false when the tenant has no document with
  // that id (whatever other tenants have). bad_request for an invalid id.
  virtual boost::asio::awaitable<Result<RemoveResult>> remove(std::string tenant, std::string doc_id) = 0;
};

}  // namespace ragd::retrieval
