#include "ragd/net/retry.hpp"
#include "ragd/core/completion_token.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

namespace ragd::net {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;

std::optional<milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(std::min(seconds, 86400.0) * 1000.0));
}

milliseconds backoff_delay(int retry, double unit, milliseconds base, milliseconds cap) {
  retry = std::clamp(retry, 1, 30);
  double ceiling = static_cast<double>(base.count()) * std::pow(2.0, retry - 1);
  ceiling = std::min(ceiling, static_cast<double>(cap.count()));
  unit = std::clamp(unit, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(ceiling / 2 + unit * ceiling / 2));
}

double jitter_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string upstream_message(std::string_view body, std::size_t max_chars) {
  std::string text;
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object()) {
        if (auto m = e->find("message"); m != e->end() && m->is_string()) text = m->get<std::string>();
      } else if (e->is_string()) {
        text = e->get<std::string>();
      }
    }
    for (const char* key : {"message", "detail"}) {
      if (!text.empty()) break;
      if (auto m = j.find(key); m != j.end() && m->is_string()) text = m->get<std::string>();
    }
  }
  if (text.empty()) {
    text = std::string(body);
    std::replace(text.begin(), text.end(), '\n', ' ');
  }
  if (text.size() > max_chars) {
    text.resize(max_chars);
    text += "...";
  }
  return text;
}

Error http_status_error(std::string_view service, int status, std::string_view body) {
  return make_error(Errc::upstream_error, std::string(service) + " returned HTTP " + std::to_string(status),
                    upstream_message(body));
}

asio::awaitable<Result<HttpResponse>> send_with_retries(HttpClient& http, HttpRequest req, RetryPolicy policy,
                                                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  using clock = std::chrono::steady_clock;
  auto remaining = [&] {
    return deadline ? std::chrono::duration_cast<milliseconds>(*deadline - clock::now()) : milliseconds::max();
  };
  auto deadline_error = [&policy](const std::string& detail) {
    return make_error(Errc::deadline_exceeded, policy.service + " did not answer before the deadline", detail);
  };

  const int attempts = std::max(1, policy.max_attempts);
  // Every attempt sends the same request, which is not copied (a prompt is kilobytes).
  const auto shared = std::make_shared<const HttpRequest>(std::move(req));
  std::optional<Error> last_error;
  std::optional<HttpResponse> last_response;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    const milliseconds left = remaining();
    if (left <= milliseconds(0)) co_return deadline_error(last_error ? log_text(*last_error) : "");
    const milliseconds timeout =
        policy.attempt_timeout.count() > 0 ? std::min(policy.attempt_timeout, left) : left;

    std::optional<milliseconds> server_delay;
    auto res = co_await http.request(shared, timeout);
    if (!res) {
      const Error& e = res.error();
      if (e.code == Errc::cancelled || e.code == Errc::bad_request) co_return prefixed(policy.service + ": ", e);
      if (e.code == Errc::deadline_exceeded && remaining() <= milliseconds(0)) co_return deadline_error(log_text(e));
      last_error = e;  // a per-attempt timeout or a connection failure: worth another try
      last_response.reset();
    } else {
      const int status = res->status;
      const bool retryable = status == 429 || (status >= 500 && status <= 599);
      if (!retryable) co_return res;
      if (status == 429) server_delay = parse_retry_after(res->header("retry-after"));
      last_response = std::move(*res);
      last_error.reset();
    }
    if (attempt == attempts || (policy.may_retry && !policy.may_retry())) break;

    const milliseconds delay = server_delay ? *server_delay
                                            : backoff_delay(attempt, jitter_unit(), policy.backoff_base,
                                                            policy.backoff_cap);
    if (deadline && clock::now() + delay >= *deadline) break;
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return make_error(Errc::cancelled, policy.service + " call cancelled");
  }
  if (last_response) co_return std::move(*last_response);
  if (last_error->code == Errc::deadline_exceeded) co_return deadline_error(log_text(*last_error));
  co_return prefixed(policy.service + ": ", std::move(*last_error));
}

}  // namespace ragd::net
