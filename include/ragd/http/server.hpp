// The HTTP/1.1 server (Boost.Beast, C++20 coroutines). Enforces the limits a production
// gateway needs before any handler runs: header and body size (431/413), a read timeout
// for the whole request (a client that trickles bytes is cut off), an idle timeout on
// keep-alive connections, and a cap on open connections (past it, 503 and close).
// A client that disconnects while its request is being handled cancels the handler.
// Every request gets an id (X-Request-Id, or the client's own when it sends a sane one),
// one log line, and counts in the metrics registry.
//
// Shutdown takes two steps. drain(): the listener stays open; requests in flight finish and
// their responses close their connections; kept-alive connections waiting for a next
// request close; a new request is served only on a route marked WhileDraining::served (the
// probes), any other is answered at once 503 "shutting down" with Retry-After: 1, without
// its handler and without counting in requests_in_flight(); every answer closes its
// connection. stop(): the listener closes, and so do connections still waiting for a
// first request.
//
// Thread-safety: start()/drain()/stop() from any thread; the server runs on the executor it
// was given (an io_context run by several threads).
#pragma once

#include "ragd/http/http_config.hpp"
#include "ragd/http/router.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace ragd::metrics {
class Registry;
}

namespace ragd::http {

class Server {
 public:
  Server(boost::asio::any_io_executor ex, ServerConfig config, const Router& router,
         metrics::Registry& metrics);
  ~Server();

  // Binds and listens; the error names the address when it cannot.
  Result<void> listen();
  unsigned short port() const;
  void start();  // accept loop
  void drain();
  void stop();  // drains too
  std::size_t open_connections() const;
  std::size_t requests_in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Splits HOST:PORT (IPv6 in brackets); error names the bad value.
Result<std::pair<std::string, unsigned short>> parse_host_port(const std::string& s);

}  // namespace ragd::http
