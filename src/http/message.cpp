#include "ragd/http/message.hpp"

namespace ragd::http {

std::string_view Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::error(const Error& e) {
  Response r;
  r.status = http_error_info(e.code).status;
  r.body = error_body(e);
  return r;
}

}  // namespace ragd::http
