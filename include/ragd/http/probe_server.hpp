// The HTTP endpoints of a process that serves nothing else (the worker): GET /metrics (the
// registry in Prometheus text format), /healthz (200 while the process runs) and /readyz
// (200 {"status":"ready"}, or 503 {"status":"not ready","reasons":[...]} with what the
// readiness check found wrong). Runs on the executor it is given, with the server's limits.
//
// Thread-safety: start() and stop() from any thread; the check runs on the executor.
#pragma once

#include "ragd/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ragd::metrics {
class Registry;
}

namespace ragd::http {

class ProbeServer {
 public:
  // What is not ready, one reason each; empty = ready.
  using ReadyCheck = std::function<boost::asio::awaitable<std::vector<std::string>>()>;

  ProbeServer(boost::asio::any_io_executor ex, std::string listen, metrics::Registry& metrics, ReadyCheck check);
  ~ProbeServer();

  // Binds `listen` (HOST:PORT; port 0 = any free one) and serves; the error names the address.
  Result<void> start();
  unsigned short port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::http
