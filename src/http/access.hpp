// Who may call a route, and how often: the request's API key names its principal (tenant,
// key id, scopes; auth.hpp), the route's scope must be among the key's (else 403
// forbidden), and the key's token bucket (rate_limiter.hpp) may refuse it with 429 and
// Retry-After; an address whose authentications keep failing is refused with 429 before its
// key is checked (failed_auth_limiter.hpp). guard() wraps a handler that takes the principal into a plain route handler,
// and puts the tenant and key id on the request's log line.
// Thread-safety: immutable after construction; the handlers it makes run on any thread.
#pragma once

#include "ragd/auth/api_key.hpp"
#include "ragd/http/auth.hpp"
#include "ragd/http/failed_auth_limiter.hpp"
#include "ragd/http/rate_limiter.hpp"
#include "ragd/http/router.hpp"

#include <functional>
#include <string>

namespace ragd::http {

using PrincipalHandler = std::function<boost::asio::awaitable<Response>(Request, Principal)>;

class Access {
 public:
  Access(const ApiKeyAuth& auth, const RateLimiter& limiter, FailedAuthLimiter& failures)
      : auth_(auth), limiter_(limiter), failures_(failures) {}

  // A handler for a route that needs `scope`.
  Handler guard(auth::Scope scope, PrincipalHandler handler) const;

 private:
  boost::asio::awaitable<Result<Principal>> authenticate(const Request& req) const;

  const ApiKeyAuth& auth_;
  const RateLimiter& limiter_;
  FailedAuthLimiter& failures_;
};

}  // namespace ragd::http
