#include "ragd/core/ids.hpp"
#include "ragd/http/answer_body.hpp"
#include "ragd/http/api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace ragd;
using namespace ragd::http;

namespace {
QueryConfig limits() {
  QueryConfig q;
  q.max_query_chars = 20;
  q.max_top_k = 10;
  q.max_id_chars = 8;
  return q;
}
}  // namespace

TEST(QueryBody, ParsesAllFields) {
  auto q = parse_query_body(R"({"query":"what is ragd","user_id":"u1","session_id":"s1","top_k":3})", limits());
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->query, "what is ragd");
  EXPECT_EQ(q->user_id, "u1");
  EXPECT_EQ(q->session_id, "s1");
  EXPECT_EQ(q->top_k, 3);
}

TEST(QueryBody, RejectsEachKindOfBadInputWithAMessageNamingTheField) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {"", "empty"},
      {"{", "not valid JSON"},
      {"[1,2]", "JSON object"},
      {R"({"user_id":"u"})", "'query' is required"},
      {R"({"query":5})", "'query' must be a string"},
      {R"({"query":"   "})", "'query' must not be empty"},
      {R"({"query":"aaaaaaaaaaaaaaaaaaaaaaaaa"})", "longer than 20"},
      {R"({"query":"q","top_k":"3"})", "'top_k' must be an integer"},
      {R"({"query":"q","top_k":0})", "between 1 and 10"},
      {R"({"query":"q","top_k":11})", "between 1 and 10"},
      {R"({"query":"q","top_k":2.5})", "'top_k' must be an integer"},
      {R"({"query":"q","user_id":7})", "'user_id' must be a string"},
      {R"({"query":"q","user_id":"123456789"})", "longer than 8"},
      {R"({"query":"q","session_id":"a\nb"})", "control characters"},
      {R"({"query":"q","topk":3})", "unknown field 'topk'"},
      {R"({"query":"q","mode":"fuzzy"})", "'mode' must be"},
      {R"({"query":"q","cache":"never"})", "'cache' must be"},
      {R"({"query":"q","cache":1})", "'cache' must be"},
      {"{\"query\":\"bad \xff byte\"}", "not valid JSON"},
      {R"({"query":"q","top_k":3.0})", "'top_k' must be an integer"},
  };
  for (const auto& c : cases) {
    auto q = parse_query_body(c.body, limits());
    ASSERT_FALSE(q) << c.body;
    EXPECT_EQ(q.error().code, Errc::bad_request);
    EXPECT_NE(q.error().message.find(c.expect), std::string::npos)
        << c.body << " -> " << q.error().message;
  }
}

TEST(QueryBody, ParsesCacheControlAndRetrievalMode) {
  auto q = parse_query_body(R"({"query":"q","cache":"bypass","mode":"lexical"})", limits());
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->cache_mode, orchestrator::CacheMode::bypass);
  EXPECT_EQ(q->mode, "lexical");
  EXPECT_EQ(parse_query_body(R"({"query":"q","cache":"refresh"})", limits())->cache_mode,
            orchestrator::CacheMode::refresh);
  EXPECT_EQ(parse_query_body(R"({"query":"q"})", limits())->cache_mode, orchestrator::CacheMode::use);
}

TEST(QueryBody, CountsCharactersNotBytes) {
  // 10 two-byte characters: 20 bytes, but 10 characters, within the limit of 20.
  std::string q = R"({"query":")";
  for (int i = 0; i < 10; ++i) q += "\xC3\xA9";
  q += "\"}";
  EXPECT_TRUE(parse_query_body(q, limits()));
}

TEST(DocumentsBody, ParsesAndValidates) {
  RetrievalConfig r;
  r.max_documents_per_request = 2;
  auto ok = parse_documents_body(R"({"documents":[{"id":"a","title":"T","text":"x"}]})", r);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->at(0).id, "a");
  EXPECT_EQ(ok->at(0).title, "T");
  auto too_many = parse_documents_body(
      R"({"documents":[{"id":"a","text":"x"},{"id":"b","text":"x"},{"id":"c","text":"x"}]})", r);
  ASSERT_FALSE(too_many);
  auto bad_field = parse_documents_body(R"({"documents":[{"id":"a","text":"x","colour":1}]})", r);
  ASSERT_FALSE(bad_field);
  EXPECT_NE(bad_field.error().message.find("documents[0].colour"), std::string::npos);
  auto no_text = parse_documents_body(R"({"documents":[{"id":"a"}]})", r);
  ASSERT_FALSE(no_text);
  EXPECT_NE(no_text.error().message.find("documents[0].text"), std::string::npos);
}

TEST(QueryResult, RendersTheDocumentedShape) {
  orchestrator::QueryResult r;
  r.request_id = "rid";
  r.answer = "42";
  r.sources.push_back({"doc", "doc#0", "Title", "text", 0.5});
  auto j = nlohmann::json::parse(render_query_result(r));
  EXPECT_EQ(j["request_id"], "rid");
  EXPECT_EQ(j["answer"], "42");
  EXPECT_EQ(j["cache"], "miss");
  EXPECT_EQ(j["sources"][0]["chunk_id"], "doc#0");
  for (const char* k : {"total", "retrieve", "profile", "rules", "queue_wait", "llm", "cache_lookup", "cache_store", "overhead"}) {
    EXPECT_TRUE(j["timings_ms"].contains(k)) << k;
  }
}

TEST(QueryResult, SplicesACachedAnswerBodyIntoValidJson) {
  orchestrator::QueryResult computed;
  computed.answer = "Bees make \"honey\".";
  computed.model = "m";
  computed.sources.push_back({"bees.md", "bees.md#0", "Bees", "text", 0.25});
  orchestrator::QueryResult hit;
  hit.request_id = "r2";
  hit.cache = "hit";
  hit.cache_age_ms = 12;
  auto body = std::make_shared<const std::string>(render_answer_body(computed));
  hit.rendered = {body, *body, computed.answer};
  auto j = nlohmann::json::parse(render_query_result(hit));
  EXPECT_EQ(j["request_id"], "r2");
  EXPECT_EQ(j["cache"], "hit");
  EXPECT_EQ(j["cache_age_ms"], 12);
  EXPECT_EQ(j["answer"], "Bees make \"honey\".");
  EXPECT_EQ(j["sources"][0]["doc_id"], "bees.md");
  EXPECT_EQ(j["usage"]["total_tokens"], 0);
}

TEST(QueryResult, EscapesItsOwnFieldsAndListsMatchedRules) {
  orchestrator::QueryResult r;
  r.request_id = "a\"b\\c\n";
  r.cache = "rule";
  r.answer = "fixed answer";
  r.rules_matched = {"greeting", "q\"uote"};
  r.timings.total = 1.23456;
  r.timings.llm = 1e300;  // absurd, but never invalid JSON
  auto text = render_query_result(r);
  auto j = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text;
  EXPECT_EQ(j["request_id"], "a\"b\\c\n");
  EXPECT_EQ(j["rules_matched"], nlohmann::json::array({"greeting", "q\"uote"}));
  EXPECT_NEAR(j["timings_ms"]["total"].get<double>(), 1.235, 1e-9);
  EXPECT_EQ(j["answer"], "fixed answer");
  EXPECT_FALSE(j.contains("cache_age_ms"));
}

TEST(QueryBody, ParsesAFilterAndRefusesAMalformedOneNamingItsPath) {
  auto q = parse_query_body(R"({"query":"ragd","filter":{"lang":"en","year":{"$gte":2020}}})", limits());
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_TRUE(q->filter);
  EXPECT_TRUE(q->filter->matches(nlohmann::json::parse(R"({"lang":"en","year":2021})")));
  EXPECT_FALSE(q->filter->matches(nlohmann::json::parse(R"({"lang":"en","year":2019})")));
  auto none = parse_query_body(R"({"query":"ragd","filter":{}})", limits());
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->filter) << "the empty filter is no filter";
  for (const auto& [body, expect] : std::vector<std::pair<const char*, const char*>>{
           {R"({"query":"q","filter":{"year":{"$gt":"2020"}}})", "'filter.year.$gt' must be a number"},
           {R"({"query":"q","filter":{"year":{"$near":1}}})", "unknown operator '$near' in 'filter.year'"},
           {R"({"query":"q","filter":[1]})", "'filter' must be an object"},
           {R"({"query":"q","filter":{"team":{"$in":[]}}})", "'filter.team.$in' must be an array"}}) {
    auto bad = parse_query_body(body, limits());
    ASSERT_FALSE(bad) << body;
    EXPECT_EQ(bad.error().code, Errc::bad_request);
    EXPECT_NE(bad.error().message.find(expect), std::string::npos) << bad.error().message;
  }
}

TEST(DocumentListing, ReadsLimitAndCursorAndRefusesBadOnesNamingThem) {
  auto plain = parse_listing_query("");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->limit, kDefaultListingLimit);
  EXPECT_EQ(plain->after, "");

  retrieval::DocumentPage page;
  page.documents = {{"a", "A", "", 1}, {"b/c d", "B", R"({"k":1})", 2}};
  page.more = true;
  const auto rendered = nlohmann::json::parse(render_document_page(page));
  ASSERT_EQ(rendered["documents"].size(), 2u);
  EXPECT_EQ(rendered["documents"][1]["metadata"]["k"], 1);
  EXPECT_EQ(rendered["documents"][1]["chunks"], 2);
  EXPECT_FALSE(rendered["documents"][0].contains("text"));
  const std::string cursor = rendered["next_cursor"];
  auto next = parse_listing_query("limit=1000&cursor=" + cursor);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->after, "b/c d");
  EXPECT_EQ(next->limit, 1000u);
  page.more = false;
  EXPECT_TRUE(nlohmann::json::parse(render_document_page(page))["next_cursor"].is_null());

  for (const char* query : {"limit=0", "limit=1001", "limit=abc", "limit=", "limit=5x", "limit=-1"}) {
    auto bad = parse_listing_query(query);
    ASSERT_FALSE(bad) << query;
    EXPECT_NE(bad.error().message.find("'limit'"), std::string::npos) << bad.error().message;
  }
  for (const char* query : {"cursor=", "cursor=abc", "cursor=zz", "cursor=%41"}) {
    auto bad = parse_listing_query(query);
    ASSERT_FALSE(bad) << query;
    EXPECT_NE(bad.error().message.find("'cursor'"), std::string::npos) << bad.error().message;
  }
}
