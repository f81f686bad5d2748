#include "dispatcher.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/log/log.hpp"

#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <iterator>

namespace ragd::http {

namespace asio = boost::asio;

namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(ascii_alnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

Dispatcher::Dispatcher(const Router& router, metrics::Registry& m)
    : router_(router),
      requests_(m.counter("ragd_http_requests_total", "HTTP requests by route and status.", {"route", "status"})),
      latency_(m.histogram("ragd_http_request_duration_ms", "HTTP request latency in milliseconds by route.",
                           {"route"})) {}

Request Dispatcher::make_request(RequestParser::value_type& msg, const std::string& remote) {
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) {
    req.headers.emplace_back(ascii_lowercase(f.name_string()), std::string(f.value()));
  }
  req.body = std::move(msg.body());
  req.remote = remote;
  auto client_id = req.header("x-request-id");
  req.request_id = sane_request_id(client_id) ? std::string(client_id) : random_id();
  req.trace = continue_trace(req.header("traceparent"));
  return req;
}

Response Dispatcher::unrouted(const Router::Match& m, const Request& req) {
  if (m.status == 405) {
    Response res = Response::error(make_error(
        Errc::method_not_allowed, "method " + req.method + " is not allowed on " + req.path + "; allowed: " + m.allow));
    res.headers.emplace_back("Allow", m.allow);
    return res;
  }
  if (m.status == 400) return Response::error(make_error(Errc::bad_request, m.error));
  return Response::error(make_error(Errc::not_found, "no route for " + req.path));
}

asio::awaitable<Response> Dispatcher::invoke(const Handler& handler, Request req, const HangupWatch& watch,
                                             std::string_view request_id, std::string_view trace_id) {
  try {
    co_return co_await handler(std::move(req));
  } catch (const boost::system::system_error& e) {
    // The watch cancelled the handler (the client hung up, or the backstop fired): an
    // expected end, already counted and logged where it was decided.
    const log::TraceScope traced(trace_id);
    if (e.code() == asio::error::operation_aborted && (watch.hung_up() || watch.timed_out())) {
      spdlog::debug("req_id={} handler cancelled: {}", request_id, e.what());
    } else {
      spdlog::error("req_id={} unhandled exception: {}", request_id, e.what());
    }
  } catch (const std::exception& e) {
    const log::TraceScope traced(trace_id);
    spdlog::error("req_id={} unhandled exception: {}", request_id, e.what());
  }
  co_return Response::error(make_error(Errc::internal, "unhandled exception"));
}

Response Dispatcher::cancelled(const HangupWatch& watch) {
  if (watch.timed_out()) return Response::error(make_error(Errc::deadline_exceeded, "the request did not finish in time"));
  return Response::error(make_error(Errc::cancelled, "client closed the connection"));
}

void Dispatcher::count_refused(int status) { requests_.with({"unmatched", std::to_string(status)}).inc(); }

void Dispatcher::record(const std::string& route, Response& res, double ms, const std::string& method,
                        const std::string& request_id, const std::string& remote, const std::string& trace_id) {
  const log::TraceScope traced(trace_id);
  const auto status_text = std::to_string(res.status);
  requests_.with({route, status_text}).inc();
  latency_.with({route}).observe(ms);
  const std::string_view who = res.log_fields;
  const std::string_view sep = who.empty() ? "" : " ";
  if (!res.cause.empty()) {
    spdlog::error("req_id={} method={} route={} status={} ms={:.2f} remote={}{}{} cause={}", request_id, method,
                  log::field(route), status_text, ms, remote, sep, who, log::field(res.cause));
    if (res.status == 500) {
      res.body = error_body(make_error(Errc::internal, "internal error; see the server log for request " + request_id));
    }
    return;
  }
  const bool probe = route == "/healthz" || route == "/readyz" || route == "/metrics";
  const auto level = probe ? spdlog::level::debug : spdlog::level::info;
  if (!spdlog::should_log(level)) return;  // the line's fields are not formatted for nothing
  spdlog::log(level, "req_id={} method={} route={} status={} ms={:.2f} remote={}{}{}", request_id, method,
              log::field(route), status_text, ms, remote, sep, who);
}

}  // namespace ragd::http
