// POST /query: the body validated (api.hpp), the gateway's cap on queries in flight (503
// past it), the request's deadline set, the pipeline run, the answer rendered.
// Thread-safety: handle() runs concurrently on any thread; in_flight() is atomic.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <string>

namespace ragd::orchestrator {
class Pipeline;
}

namespace ragd::http {

class QueryHandler {
 public:
  QueryHandler(orchestrator::Pipeline& pipeline, const ServerConfig& server, const QueryConfig& query)
      : pipeline_(pipeline), server_(server), query_(query) {}

  boost::asio::awaitable<Response> handle(Request req, std::string tenant);
  int in_flight() const { return in_flight_.load(); }

 private:
  orchestrator::Pipeline& pipeline_;
  const ServerConfig& server_;
  const QueryConfig& query_;
  std::atomic<int> in_flight_{0};
};

}  // namespace ragd::http
