#include "ragd/http/message.hpp"

#include "ragd/core/ascii.hpp"

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

Response Response::error(const Error& e, std::int64_t retry_after_s) {
  Response r;
  r.status = http_error_info(e.code).status;
  if (e.code == Errc::internal) {
    r.cause = e.message;
    r.body = error_body(make_error(Errc::internal, "internal error"));
  } else {
    r.body = error_body(e);
  }
  if (e.code == Errc::overloaded || e.code == Errc::unavailable || e.code == Errc::rate_limited) {
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  }
  return r;
}

bool has_json_content_type(const Request& req) {
  std::string_view media = req.header("content-type");
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return ascii_iequals(media, "application/json");
}

}  // namespace ragd::http
