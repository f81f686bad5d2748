#include "access.hpp"

#include "ragd/core/ids.hpp"

namespace ragd::http {

namespace asio = boost::asio;

Handler Access::guard(TenantHandler handler) const {
  return [this, handler = std::move(handler)](Request req) -> asio::awaitable<Response> {
    auto tenant = auth_.authenticate(req);
    if (!tenant) {
      Response r = Response::error(tenant.error());
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      co_return r;
    }
    if (limiter_.enabled()) {
      // The bucket of the key's SHA-256 ("" without keys: one shared bucket). Built outside
      // co_await: GCC 12 and conditional expressions.
      std::string bucket;
      if (auth_.enabled()) {
        const std::string_view key = presented_api_key(req);
        if (!key.empty()) bucket = sha256_hex(key);
      }
      auto decision = co_await limiter_.acquire(*tenant, std::move(bucket));
      if (!decision.allowed) {
        co_return Response::error(make_error(Errc::rate_limited, "rate limit exceeded for this API key; retry later"),
                                  std::max<std::int64_t>(1, (decision.retry_after_ms + 999) / 1000));
      }
    }
    co_return co_await handler(std::move(req), std::move(*tenant));
  };
}

}  // namespace ragd::http
