#include "ragd/core/error.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace ragd {

namespace {

class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(const Error& e)
      : std::runtime_error(std::string(to_string(e.code)) + ": " + log_text(e)) {}
};

}  // namespace

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ErrorException(e);
}

HttpErrorInfo http_error_info(Errc code) noexcept {
  switch (code) {
    case Errc::bad_request: return {400, "invalid_request_error", "bad_request"};
    case Errc::unauthorized: return {401, "authentication_error", "unauthorized"};
    case Errc::forbidden: return {403, "permission_error", "forbidden"};
    case Errc::not_found: return {404, "invalid_request_error", "not_found"};
    case Errc::method_not_allowed: return {405, "invalid_request_error", "method_not_allowed"};
    // 408 and 431 keep the code they have always had (docs/api.md).
    case Errc::request_timeout: return {408, "invalid_request_error", "bad_request"};
    case Errc::payload_too_large: return {413, "invalid_request_error", "payload_too_large"};
    case Errc::headers_too_large: return {431, "invalid_request_error", "bad_request"};
    case Errc::unsupported_media_type:
      return {415, "invalid_request_error", "unsupported_media_type"};
    case Errc::rate_limited: return {429, "rate_limit_error", "rate_limited"};
    case Errc::blocked: return {403, "policy_error", "blocked"};
    case Errc::overloaded: return {503, "overloaded_error", "overloaded"};
    case Errc::unavailable: return {503, "unavailable_error", "unavailable"};
    case Errc::deadline_exceeded: return {504, "timeout_error", "deadline_exceeded"};
    case Errc::cancelled: return {499, "cancelled_error", "cancelled"};
    case Errc::upstream_error: return {502, "upstream_error", "upstream_error"};
    case Errc::internal: break;
  }
  return {500, "internal_error", "internal"};
}

std::string_view to_string(Errc code) noexcept { return http_error_info(code).code; }

Error prefixed(std::string_view before, Error e) {
  e.message.insert(0, before);
  return e;
}

std::string log_text(const Error& e) {
  if (e.detail.empty()) return e.message;
  return e.message + " [" + e.detail + "]";
}

std::string error_body(const Error& e) {
  const auto info = http_error_info(e.code);
  nlohmann::json j = {{"error", {{"type", info.type}, {"code", info.code}, {"message", e.message}}}};
  // A message may quote client input (an id from the path) that is not valid UTF-8.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ragd
