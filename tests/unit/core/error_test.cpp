// The one table from errors to HTTP statuses, and the JSON error body.
#include "ragd/core/error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace ragd;

TEST(ErrorTable, MapsEveryErrorToItsStatus) {
  EXPECT_EQ(http_error_info(Errc::bad_request).status, 400);
  EXPECT_EQ(http_error_info(Errc::unauthorized).status, 401);
  EXPECT_EQ(http_error_info(Errc::forbidden).status, 403);
  EXPECT_EQ(http_error_info(Errc::forbidden).code, "forbidden");
  EXPECT_EQ(http_error_info(Errc::request_timeout).status, 408);
  EXPECT_EQ(http_error_info(Errc::payload_too_large).status, 413);
  EXPECT_EQ(http_error_info(Errc::headers_too_large).status, 431);
  EXPECT_EQ(http_error_info(Errc::unsupported_media_type).status, 415);
  EXPECT_EQ(http_error_info(Errc::rate_limited).status, 429);
  EXPECT_EQ(http_error_info(Errc::overloaded).status, 503);
  EXPECT_EQ(http_error_info(Errc::deadline_exceeded).status, 504);
  auto j = nlohmann::json::parse(error_body(make_error(Errc::not_found, "no route")));
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "no route");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
}

TEST(ErrorTable, KeepsTheDocumentedCodesOf408And431) {
  EXPECT_EQ(http_error_info(Errc::request_timeout).code, "bad_request");
  EXPECT_EQ(http_error_info(Errc::headers_too_large).code, "bad_request");
}

TEST(ErrorBody, QuotesInvalidUtf8FromClientsWithoutThrowing) {
  const std::string body = error_body(make_error(Errc::not_found, "no document with id '\xFF\xFE'"));
  auto j = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << body;
  EXPECT_EQ(j["error"]["code"], "not_found");
}

TEST(ErrorDetail, StaysOutOfTheClientsBodyAndGoesToTheLogText) {
  const Error e = make_error(Errc::upstream_error, "LLM returned HTTP 401", "Incorrect API key provided: sk-...WXYZ");
  const std::string body = error_body(e);
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["error"]["message"], "LLM returned HTTP 401");
  EXPECT_EQ(body.find("sk-"), std::string::npos) << body;
  EXPECT_EQ(log_text(e), "LLM returned HTTP 401 [Incorrect API key provided: sk-...WXYZ]");
  EXPECT_EQ(log_text(make_error(Errc::not_found, "no route")), "no route");
  const Error p = prefixed("worker: ", e);
  EXPECT_EQ(p.message, "worker: LLM returned HTTP 401");
  EXPECT_EQ(p.detail, e.detail);
  EXPECT_EQ(p.code, Errc::upstream_error);
}
