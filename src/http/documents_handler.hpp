// /v1/documents: POST (ingest: validated, then published to the ingest stream and answered
// once applied here, or applied here alone when standalone), GET and DELETE by id.
// Thread-safety: the handlers run concurrently on any thread.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace ragd::retrieval {
class Retriever;
}
namespace ragd::replication {
class Replicator;
}

namespace ragd::http {

class DocumentsHandler {
 public:
  // `replicator` is null in standalone mode.
  DocumentsHandler(retrieval::Retriever& retriever, replication::Replicator* replicator,
                   const RetrievalConfig& config)
      : retriever_(retriever), replicator_(replicator), config_(config) {}

  boost::asio::awaitable<Response> ingest(Request req, std::string tenant);
  boost::asio::awaitable<Response> get(Request req, std::string tenant);
  boost::asio::awaitable<Response> remove(Request req, std::string tenant);

 private:
  retrieval::Retriever& retriever_;
  replication::Replicator* replicator_;
  const RetrievalConfig& config_;
};

}  // namespace ragd::http
