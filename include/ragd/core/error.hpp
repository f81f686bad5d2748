// Errors as values. Expected outcomes (bad input, a Redis miss, an upstream timeout) travel
// as ragd::Error inside ragd::Result<T>; programmer errors throw. One table,
// http_error_info(), maps every error to the HTTP status and the JSON `type`/`code` a
// client sees. Everything here is immutable and thread-safe.
#pragma once

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace ragd {

enum class Errc {
  bad_request,             // malformed JSON, wrong types, out-of-range values
  unauthorized,            // missing or wrong API key
  forbidden,               // the API key lacks the scope a route needs (403)
  not_found,               // unknown route or resource
  method_not_allowed,
  request_timeout,         // the request did not arrive within the read timeout (408)
  payload_too_large,
  headers_too_large,       // request header or trailer fields over the limit (431)
  unsupported_media_type,
  rate_limited,            // a per-key limit (429)
  overloaded,              // shedding: queue full, too many in flight (503)
  blocked,                 // a rule refused the query
  deadline_exceeded,       // no answer within the request's deadline (504)
  cancelled,               // the caller went away
  unavailable,             // a dependency cannot be reached, or the gateway is draining (503)
  upstream_error,          // the LLM or embedding service failed
  internal,
};

struct Error {
  Errc code = Errc::internal;
  std::string message;  // safe to show a client: says what failed or what to fix
  // For the server's log only, never sent to a client: where it failed and what the other
  // side said (an internal URL or address, an upstream's own error text).
  std::string detail;

  friend bool operator==(const Error&, const Error&) = default;
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message), {}}; }
inline Error make_error(Errc code, std::string message, std::string detail) {
  return Error{code, std::move(message), std::move(detail)};
}

// The same error with `before` put ahead of its message; the detail stays as it was.
Error prefixed(std::string_view before, Error e);

// What a log line says of an error: its message, then its detail in brackets.
std::string log_text(const Error& e);

struct HttpErrorInfo {
  int status;
  std::string_view type;  // broad class: invalid_request_error, auth_error, ...
  std::string_view code;  // stable machine-readable code
};

// The single table that maps errors to HTTP.
HttpErrorInfo http_error_info(Errc code) noexcept;

std::string_view to_string(Errc code) noexcept;

// The JSON error body every endpoint uses: {"error": {"type", "code", "message"}}. The
// detail is left out.
std::string error_body(const Error& e);

}  // namespace ragd
