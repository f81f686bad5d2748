// GET /metrics (Prometheus text) and the gateway's gauges: queries and jobs in flight, the
// index's size, version and HNSW/IVF state, uptime (read at each scrape), and the queue's
// depth (sampled once a second in the background: it needs Redis, and a scrape must not).
// Thread-safety: serve() runs on any thread; start() once, on the gateway's start.
#pragma once

#include "ragd/http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>

namespace ragd::metrics {
class Registry;
class Gauge;
}
namespace ragd::retrieval {
class Retriever;
}
namespace ragd::queue {
class JobClient;
}

namespace ragd::http {

struct GatewayGaugeSources {
  queue::JobClient& jobs;
  retrieval::Retriever& retriever;
  std::function<int()> queries_in_flight;
  const std::atomic<bool>& stopping;  // ends the depth sampling
};

class MetricsHandler {
 public:
  MetricsHandler(boost::asio::any_io_executor ex, metrics::Registry& registry, GatewayGaugeSources sources);

  // Registers the gauges and starts sampling the queue's depth.
  void start();
  boost::asio::awaitable<Response> serve(Request req);

 private:
  boost::asio::awaitable<void> sample_depth(metrics::Gauge& gauge);

  boost::asio::any_io_executor ex_;
  metrics::Registry& registry_;
  GatewayGaugeSources sources_;
  double started_ms_;
};

}  // namespace ragd::http
