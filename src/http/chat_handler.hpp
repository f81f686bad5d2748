// POST /v1/chat/completions and GET /v1/models: OpenAI's chat API over the query path
// (chat_api.hpp for the wire format). A completion runs as a /query does, through
// QueryHandler::run (the cap on queries in flight, the deadline, streaming), with the
// answer rendered as a chat.completion or streamed as chunks.
// Thread-safety: the handlers run concurrently on any thread; no state of their own.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace ragd::http {

class QueryHandler;

class ChatHandler {
 public:
  // `models`: the names a request's `model` may take.
  ChatHandler(QueryHandler& queries, const QueryConfig& query, std::vector<std::string> models)
      : queries_(queries), query_(query), models_(std::move(models)) {}

  boost::asio::awaitable<Response> complete(Request req, std::string tenant);
  boost::asio::awaitable<Response> models(Request req, std::string tenant);

 private:
  QueryHandler& queries_;
  const QueryConfig& query_;
  std::vector<std::string> models_;
};

}  // namespace ragd::http
