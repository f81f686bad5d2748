// A request's way through the server once it has been read: the plain Request made from
// Beast's message, its route (404, 405 and a bad path's 400 are answered here), the handler
// run with its exceptions caught (500), the answer when the hang-up watch cancelled it
// (504 or 499), and the count, latency and log line of every answer.
// Thread-safety: const methods and metrics are safe from any thread.
#pragma once

#include "hangup_watch.hpp"
#include "ragd/http/router.hpp"
#include "ragd/metrics/metrics.hpp"
#include "request_reader.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace ragd::http {

class Dispatcher {
 public:
  Dispatcher(const Router& router, metrics::Registry& metrics);

  // Header names lower-cased; the request id the client's own when it is sane, else new;
  // the trace continues a valid traceparent header, else a new one starts.
  static Request make_request(RequestParser::value_type& message, const std::string& remote);
  Router::Match route(const Request& req) const { return router_.match(req.method, req.path); }
  // The answer for a request no handler serves.
  static Response unrouted(const Router::Match& match, const Request& req);
  // Runs the handler; an exception becomes a 500 naming the request id. `request_id` and
  // `trace_id` are for that log line only: the caller's copies, which outlive the await
  // (the request itself moves into the handler).
  static boost::asio::awaitable<Response> invoke(const Handler& handler, Request req, const HangupWatch& watch,
                                                 std::string_view request_id, std::string_view trace_id);
  // The answer for a handler the watch cancelled.
  static Response cancelled(const HangupWatch& watch);

  // A request refused before it had a route (a limit, a malformed request, a timeout).
  void count_refused(int status);
  // One answered request: its count by route and status, its latency, its log line. A
  // cause goes to the log line at error level; for an internal error (500) the client is
  // told the request id in place of the cause.
  // The log line carries the request's trace id.
  void record(const std::string& route, Response& res, double ms, const std::string& method,
              const std::string& request_id, const std::string& remote, const std::string& trace_id);

 private:
  const Router& router_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& latency_;
};

}  // namespace ragd::http
