// Who may call a route, and how often: the request's API key names its tenant (auth.hpp),
// and the key's token bucket (rate_limiter.hpp) may refuse it with 429 and Retry-After.
// guard() wraps a handler that takes the tenant into a plain route handler.
// Thread-safety: immutable after construction; the handlers it makes run on any thread.
#pragma once

#include "ragd/http/auth.hpp"
#include "ragd/http/rate_limiter.hpp"
#include "ragd/http/router.hpp"

#include <functional>
#include <string>

namespace ragd::http {

using TenantHandler = std::function<boost::asio::awaitable<Response>(Request, std::string tenant)>;

class Access {
 public:
  Access(const ApiKeyAuth& auth, const RateLimiter& limiter) : auth_(auth), limiter_(limiter) {}

  Handler guard(TenantHandler handler) const;

 private:
  const ApiKeyAuth& auth_;
  const RateLimiter& limiter_;
};

}  // namespace ragd::http
