// POST /query: the body validated (api.hpp), the gateway's cap on queries in flight (503
// past it), the request's deadline set, the pipeline run, the answer rendered; with
// "stream": true, the answer as server-sent events (answer_events.hpp).
// Thread-safety: handle() runs concurrently on any thread; in_flight() is atomic.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace ragd::orchestrator {
class Pipeline;
struct QueryRequest;
struct QueryResult;
}

namespace ragd::http {

class AnswerEventFormat;
class StreamedAnswer;

class QueryHandler {
 public:
  QueryHandler(orchestrator::Pipeline& pipeline, const ServerConfig& server, const QueryConfig& query)
      : pipeline_(pipeline), server_(server), query_(query) {}

  boost::asio::awaitable<Response> handle(Request req, std::string tenant);
  int in_flight() const { return in_flight_.load(); }

  // Runs `q` (its tenant, request id and deadline set) within the cap on queries in flight:
  // the result, or, when the request streams, a streamed response writing `format`'s events.
  boost::asio::awaitable<Response> run(orchestrator::QueryRequest q, std::unique_ptr<AnswerEventFormat> format,
                                       std::function<Response(const orchestrator::QueryResult&)> render);

 private:
  struct Slot;
  static boost::asio::awaitable<void> stream(orchestrator::Pipeline& pipeline, orchestrator::QueryRequest q,
                                             std::shared_ptr<StreamedAnswer> events, std::shared_ptr<Slot> slot);

  orchestrator::Pipeline& pipeline_;
  const ServerConfig& server_;
  const QueryConfig& query_;
  std::atomic<int> in_flight_{0};
};

}  // namespace ragd::http
