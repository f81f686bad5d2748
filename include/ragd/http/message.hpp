// The HTTP request and response as the rest of ragd sees them: plain values, no Beast
// types, so handlers and their tests do not pay for Beast's headers. Thread-safe to copy.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/core/trace.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragd::http {

class ResponseStream;

struct Request {
  std::string method;   // GET, POST, ...
  std::string target;   // path and query as sent
  std::string path;     // without the query string
  std::string query;    // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote;   // peer address
  std::string request_id;
  // This gateway's span of the request's trace: continues the client's traceparent when it
  // is valid, a new trace otherwise. Answered as traceparent and X-Trace-Id, carried in jobs.
  TraceContext trace;
  std::vector<std::string> path_params;  // values of {placeholders}, in order

  // The first header with this (lower-case) name, or empty.
  std::string_view header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // For the request's log line only (Dispatcher::record): an internal error's own message
  // (the client is told "internal error" and the request id), or another error's detail
  // (an internal address, an upstream's words; the client gets the error's message).
  std::string cause;
  // Who asked (`tenant=… key_id=…`), for the request's log line only.
  std::string log_fields;

  // Set: the body is streamed (response_stream.hpp); `status`, `body` and `content_type`
  // are unused.
  std::shared_ptr<ResponseStream> stream;

  static Response json(int status, std::string body);
  // The one JSON error shape, status from the table. The errors a client may retry
  // (overloaded, unavailable, rate_limited) carry `Retry-After: retry_after_s`: this is the
  // one place the header is set.
  static Response error(const Error& e, std::int64_t retry_after_s = 1);
};

// The request's Content-Type is application/json (parameters and case aside).
bool has_json_content_type(const Request& req);

// `name`'s value in a query string of name=value pairs (Request::query), undecoded; the
// first one when repeated; nullopt when absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name);

}  // namespace ragd::http
