// The retry policy shared by every outbound call to an HTTP service (the LLM client in the
// worker, the embedding client in the gateway): which failures are worth another try, how
// long to wait before it, and the budget no retry may cross.
//
//   retried   5xx, 429 (after its Retry-After when given), a per-attempt timeout, a
//             connection that could not be made or broke
//   final     2xx and any other status (the request itself is wrong; repeating it changes
//             nothing), a malformed URL, a cancelled caller
//
// Between attempts: the server's Retry-After, else jittered exponential backoff. A wait
// that would end past the deadline is not started; the caller gets the real reason now.
//
// Thread-safety: the functions are stateless; send_with_retries() may run concurrently
// on one HttpClient.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/net/http_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::net {

// Retry-After as a delay (delta-seconds form only); nullopt when absent or unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

// Delay before retry number `retry` (1 = first retry): "equal jitter" under an exponential
// ceiling c = min(cap, base * 2^(retry-1)), i.e. c/2 + unit * c/2 with `unit` in [0,1).
// Half the ceiling is always waited, so a struggling server is not hit again at once;
// the random half spreads the retries of many callers apart.
std::chrono::milliseconds backoff_delay(int retry, double unit,
                                        std::chrono::milliseconds base = std::chrono::milliseconds(100),
                                        std::chrono::milliseconds cap = std::chrono::milliseconds(2000));

// A uniform draw in [0, 1) from a per-thread generator, for backoff_delay().
double jitter_unit();

// The service's own words about a failure, from the shapes servers use
// ({"error":{"message":..}}, {"error":".."}, {"message":..}, {"detail":..}, or raw text),
// cut to `max_chars`.
std::string upstream_message(std::string_view body, std::size_t max_chars = 300);

// Errc::upstream_error "<service> returned HTTP <status>", the upstream's message in its detail.
Error http_status_error(std::string_view service, int status, std::string_view body);

struct RetryPolicy {
  std::string service = "upstream";  // names the service in errors: "LLM", "embedding service"
  int max_attempts = 3;
  std::chrono::milliseconds attempt_timeout{30000};  // per attempt; <= 0 = only the deadline
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{2000};
  // Asked before each retry when set: false makes the last failure final (a streamed
  // answer has begun, and a second attempt would repeat it).
  std::function<bool()> may_retry;
};

// Sends `req` up to policy.max_attempts times, never past `deadline` (none = only the
// per-attempt timeout bounds each try). Returns the first final response (a 2xx or a
// status not worth repeating) or, when the attempts or the budget run out, the last
// retried response; the caller reads either. Errors: Errc::deadline_exceeded
// "<service> did not answer before the deadline (..)", Errc::cancelled, and the last
// transport error (see HttpClient::request).
boost::asio::awaitable<Result<HttpResponse>> send_with_retries(
    HttpClient& http, HttpRequest req, RetryPolicy policy,
    std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace ragd::net
