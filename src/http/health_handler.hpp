// GET /healthz (the process is alive) and GET /readyz (it can serve queries): Redis answers
// a PING, the index is loaded, a worker heartbeat is recent (or, with
// readiness.require_workers off, its absence is a warning), replication has caught up and
// not diverged, and the gateway is not shutting down. Reasons and warnings name what is
// missing.
// Thread-safety: the handlers run concurrently on any thread.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>

namespace ragd::redis {
class Client;
}
namespace ragd::retrieval {
class Retriever;
}
namespace ragd::replication {
class Replicator;
}
namespace ragd::queue {
class JobClient;
}

namespace ragd::http {

struct HealthDeps {
  redis::Client& redis;
  retrieval::Retriever& retriever;
  queue::JobClient& jobs;
  replication::Replicator* replicator;  // null in standalone mode
  const std::atomic<bool>& stopping;
};

class HealthHandler {
 public:
  HealthHandler(HealthDeps deps, const QueueConfig& queue, const ReadinessConfig& readiness)
      : deps_(deps), queue_(queue), readiness_(readiness) {}

  static boost::asio::awaitable<Response> live(Request req);
  boost::asio::awaitable<Response> ready(Request req);

 private:
  HealthDeps deps_;
  const QueueConfig& queue_;
  const ReadinessConfig& readiness_;
};

}  // namespace ragd::http
