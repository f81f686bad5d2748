// An asynchronous HTTP/1.1 client for outbound calls to LLM and embedding services. It
// drives libcurl's multi interface from Asio: curl tells us which sockets to watch and
// when to wake it, Asio waits for those events, so many requests share one thread and
// one connection pool (keep-alive) with no thread per call and no blocking.
//
// Thread-safety: request() may be called from any thread and awaited from any executor;
// all curl state lives on the client's own strand. Destroying the client completes every
// request still in flight with Errc::cancelled.
#pragma once

#include "ragd/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragd::net {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whole-request limit (connect, send, wait, receive). Zero or negative = no limit.
  std::chrono::milliseconds timeout{30000};
  // Streaming: when set, the body of a 2xx response is handed to this piece by piece as it
  // arrives (on the client's strand, in order, never concurrently) instead of being kept in
  // HttpResponse::body; returning false aborts the transfer (Errc::upstream_error). The
  // bodies of other statuses are kept as usual, for the caller's error message.
  std::function<bool(std::string_view bytes)> on_body;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  // The first header with this (lower-case) name, or empty.
  std::string header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  // Responses larger than this fail with Errc::upstream_error instead of growing memory.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  // Upper bound on the TCP connect phase (also capped by each request's timeout).
  std::chrono::milliseconds connect_timeout{5000};
  // Idle keep-alive connections kept for reuse across requests.
  long max_idle_connections = 64;
};

class HttpClient {
 public:
  explicit HttpClient(boost::asio::any_io_executor ex, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. Any HTTP status is a success here (the caller decides what a
  // 500 means); the errors are transport-level:
  //   Errc::deadline_exceeded  the timeout passed
  //   Errc::unavailable        could not resolve or connect, or the connection broke
  //   Errc::cancelled          the awaiting coroutine was cancelled, or the client closed
  //   Errc::bad_request        the request itself is malformed (bad URL)
  //   Errc::upstream_error     the response was malformed or too large
  boost::asio::awaitable<Result<HttpResponse>> request(HttpRequest req);
  // The same with a request shared by several attempts (it is not copied) and this
  // attempt's own timeout in place of req->timeout.
  boost::asio::awaitable<Result<HttpResponse>> request(std::shared_ptr<const HttpRequest> req,
                                                       std::chrono::milliseconds timeout);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ragd::net
