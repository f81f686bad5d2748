#include "access.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/log/log.hpp"

#include <spdlog/spdlog.h>

namespace ragd::http {

namespace asio = boost::asio;

namespace {

// Who asked, for the request's log line (Dispatcher::record). Formatted only when that line
// will be written: a line with a cause always, any other at info level.
void name_caller(Response& r, std::string_view tenant, std::string_view key_id) {
  if (r.cause.empty() && !spdlog::should_log(spdlog::level::info)) return;
  r.log_fields = "tenant=" + std::string(tenant) + " key_id=" + log::field(key_id);
}

}  // namespace

// Called from guard()'s coroutine, which owns `req` across the co_await.
asio::awaitable<Result<Principal>> Access::authenticate(const Request& req) const {
  if (!auth_.enabled()) co_return ApiKeyAuth::anonymous();
  const std::string_view key = presented_api_key(req);
  if (key.empty()) {
    co_return make_error(Errc::unauthorized,
                         "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'");
  }
  std::string digest = sha256_hex(key);
  if (auto known = auth_.resolve_now(digest)) co_return std::move(*known);
  co_return co_await auth_.resolve(std::move(digest));
}

Handler Access::guard(auth::Scope scope, PrincipalHandler handler) const {
  return [this, scope, handler = std::move(handler)](Request req) -> asio::awaitable<Response> {
    if (const std::int64_t wait = failures_.wait_ms(req.remote, unix_ms()); wait > 0) {
      co_return Response::error(
          make_error(Errc::rate_limited, "too many failed authentications from this address; retry later"),
          (wait + 999) / 1000);
    }
    auto principal = co_await authenticate(req);
    if (!principal) {
      Response r = Response::error(principal.error());
      if (principal.error().code == Errc::unauthorized) {
        failures_.record_failure(req.remote, unix_ms());
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
      }
      co_return r;
    }
    if (!auth::has_scope(principal->scopes, scope)) {
      Response r = Response::error(make_error(
          Errc::forbidden, "this API key lacks the scope '" + std::string(auth::scope_name(scope)) + "' this route needs"));
      name_caller(r, principal->tenant, principal->key_id);
      co_return r;
    }
    const RateLimitConfig& limit = limiter_.limit_for(principal->rate_limit);
    if (limit.requests_per_second > 0) {
      std::string bucket = principal->bucket.empty() ? std::string("all") : principal->bucket;
      auto decision = co_await limiter_.acquire(principal->tenant, std::move(bucket), limit);
      if (!decision.allowed) {
        Response r = Response::error(make_error(Errc::rate_limited, "rate limit exceeded for this API key; retry later"),
                                     std::max<std::int64_t>(1, (decision.retry_after_ms + 999) / 1000));
        name_caller(r, principal->tenant, principal->key_id);
        co_return r;
      }
    }
    // The handler takes the principal; its names stay for the log line.
    const std::string tenant = principal->tenant;
    const std::string key_id = principal->key_id;
    Response r = co_await handler(std::move(req), std::move(*principal));
    name_caller(r, tenant, key_id);
    co_return r;
  };
}

}  // namespace ragd::http
