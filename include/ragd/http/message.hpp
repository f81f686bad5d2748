// The HTTP request and response as the rest of ragd sees them: plain values, no Beast
// types, so handlers and their tests do not pay for Beast's headers. Thread-safe to copy.
#pragma once

#include "ragd/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragd::http {

struct Request {
  std::string method;   // GET, POST, ...
  std::string target;   // path and query as sent
  std::string path;     // without the query string
  std::string query;    // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote;   // peer address
  std::string request_id;
  std::vector<std::string> path_params;  // values of {placeholders}, in order

  // The first header with this (lower-case) name, or empty.
  std::string_view header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(int status, std::string body);
  static Response error(const Error& e);  // the one JSON error shape, status from the table
};

}  // namespace ragd::http
