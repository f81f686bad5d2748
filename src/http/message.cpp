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
    r.cause = log_text(e);
    r.body = error_body(make_error(Errc::internal, "internal error"));
  } else {
    r.cause = e.detail;
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

std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace ragd::http
