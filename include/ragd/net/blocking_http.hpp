// One HTTP/1.1 request at a time, blocking the calling thread: connect, send, read the whole
// response, close. For command-line tools (ragctl) and tests, which wait for each answer
// anyway; never for a server's I/O threads (net/http_client.hpp is the asynchronous client).
// Thread-safe: no shared state; each call has its own connection.
#pragma once

#include "ragd/core/error.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ragd::net {

struct BlockingRequest {
  std::string host = "127.0.0.1";
  std::string port = "80";
  std::string method = "GET";
  std::string target = "/";
  std::string body;  // sent as application/json unless a Content-Type header says otherwise
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{30000};  // the whole exchange, connect to last byte
};

struct BlockingResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
};

// Errc::unavailable naming the server and the cause when there is no complete response
// (connection refused, timeout, malformed reply); any HTTP status is a response.
Result<BlockingResponse> blocking_request(const BlockingRequest& request);

}  // namespace ragd::net
