// The request and response values: header lookup, the JSON media type, and the error
// response (status from the table, Retry-After on the errors a client may retry).
#include "ragd/http/message.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::http;

namespace {

std::string header_of(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "(none)";
}

}  // namespace

TEST(ResponseError, RetryableErrorsCarryRetryAfterAndOthersDoNot) {
  EXPECT_EQ(header_of(Response::error(make_error(Errc::overloaded, "full")), "Retry-After"), "1");
  EXPECT_EQ(header_of(Response::error(make_error(Errc::unavailable, "down")), "Retry-After"), "1");
  const Response limited = Response::error(make_error(Errc::rate_limited, "slow down"), 7);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_of(limited, "Retry-After"), "7");
  EXPECT_EQ(header_of(Response::error(make_error(Errc::bad_request, "no")), "Retry-After"), "(none)");
  EXPECT_EQ(header_of(Response::error(make_error(Errc::deadline_exceeded, "late")), "Retry-After"), "(none)");
}

TEST(HasJsonContentType, IgnoresCaseAndParameters) {
  Request req;
  EXPECT_FALSE(has_json_content_type(req));
  for (const char* ct : {"application/json", "Application/JSON; charset=utf-8", "application/json ;q=1"}) {
    req.headers = {{"content-type", ct}};
    EXPECT_TRUE(has_json_content_type(req)) << ct;
  }
  for (const char* ct : {"text/plain", "application/jsonx", "application/x-www-form-urlencoded"}) {
    req.headers = {{"content-type", ct}};
    EXPECT_FALSE(has_json_content_type(req)) << ct;
  }
}
