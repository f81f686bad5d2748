// /v1/documents: POST (ingest) and DELETE by id go through the one write interface,
// retrieval::DocumentWriter (the replicator, which publishes to the ingest stream and
// answers once the change is applied here, or the local writer when standalone); GET by id
// and the listing (GET /v1/documents?limit=&cursor=) read the local store. Each sees the
// caller's tenant only: another tenant's id is a 404 like an unknown one, and a listing
// shows the caller's documents alone.
// Thread-safety: the handlers run concurrently on any thread.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/http/auth.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace ragd::retrieval {
class DocumentWriter;
class Retriever;
}  // namespace ragd::retrieval

namespace ragd::http {

class DocumentsHandler {
 public:
  // `writer`: the replicator, or the retriever's local writer when standalone.
  DocumentsHandler(retrieval::DocumentWriter& writer, retrieval::Retriever& retriever, const RetrievalConfig& config)
      : writer_(writer), retriever_(retriever), config_(config) {}

  // A change writes one audit line naming the caller's tenant and key id.
  boost::asio::awaitable<Response> ingest(Request req, Principal caller);
  boost::asio::awaitable<Response> get(Request req, std::string tenant);
  boost::asio::awaitable<Response> list(Request req, std::string tenant);
  boost::asio::awaitable<Response> remove(Request req, Principal caller);

 private:
  retrieval::DocumentWriter& writer_;
  retrieval::Retriever& retriever_;
  const RetrievalConfig& config_;
};

}  // namespace ragd::http
