// Route matching: literal segments and placeholders, 404 against 405, and placeholder
// values percent-decoded (an id may hold a '/', sent as %2F) with bad escapes refused.
#include "ragd/http/router.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::http;

namespace {

Router documents_router() {
  Router router;
  Handler h = [](Request) -> boost::asio::awaitable<Response> { co_return Response{}; };
  router.add("POST", "/query", h);
  router.add("GET", "/v1/documents/{id}", h);
  router.add("DELETE", "/v1/documents/{id}", h);
  return router;
}

}  // namespace

TEST(Router, MatchesPatternsAndTellsNotFoundFromMethodNotAllowed) {
  Router router = documents_router();
  auto m = router.match("GET", "/v1/documents/abc");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/v1/documents/{id}");
  EXPECT_EQ(m.params, std::vector<std::string>{"abc"});
  auto not_allowed = router.match("GET", "/query");
  EXPECT_EQ(not_allowed.handler, nullptr);
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(not_allowed.allow, "POST");
  auto missing = router.match("GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.route, "unmatched");
}

TEST(Router, DecodesPercentEscapesInPlaceholders) {
  Router router = documents_router();
  auto m = router.match("DELETE", "/v1/documents/docs%2Foperations.md");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params, std::vector<std::string>{"docs/operations.md"});
  EXPECT_EQ(router.match("GET", "/v1/documents/caf%C3%A9%20menu").params, std::vector<std::string>{"caf\xC3\xA9 menu"});
  // '+' is a plus in a path, not a space.
  EXPECT_EQ(router.match("GET", "/v1/documents/a+b").params, std::vector<std::string>{"a+b"});
  // The route keeps its pattern for metrics and logs.
  EXPECT_EQ(m.route, "/v1/documents/{id}");
}

TEST(Router, RefusesMalformedEscapesAndControlCharactersWith400) {
  Router router = documents_router();
  for (const char* path : {"/v1/documents/a%", "/v1/documents/a%4", "/v1/documents/a%zz", "/v1/documents/%g0"}) {
    auto m = router.match("GET", path);
    EXPECT_EQ(m.handler, nullptr) << path;
    EXPECT_EQ(m.status, 400) << path;
    EXPECT_NE(m.error.find("percent-escape"), std::string::npos) << path << ": " << m.error;
  }
  for (const char* path : {"/v1/documents/a%00b", "/v1/documents/%1B[31m", "/v1/documents/a%0Ab", "/v1/documents/%7F"}) {
    auto m = router.match("GET", path);
    EXPECT_EQ(m.status, 400) << path;
    EXPECT_NE(m.error.find("control characters"), std::string::npos) << path << ": " << m.error;
  }
}

TEST(PercentDecodeSegment, DecodesEitherCaseAndLeavesPlainTextAlone) {
  EXPECT_EQ(*percent_decode_segment("a%2fb%2Fc"), "a/b/c");
  EXPECT_EQ(*percent_decode_segment("plain-id_1.md"), "plain-id_1.md");
  EXPECT_EQ(*percent_decode_segment("%25"), "%");
  EXPECT_EQ(*percent_decode_segment(""), "");
}
