// Metadata filters on /query and /v1/chat/completions and the document listing
// (GET /v1/documents?limit=&cursor=), with real processes: redis-server, ragd, ragd-worker.
#include "stack.hpp"

#include "ragd/core/ids.hpp"

#include <set>

using namespace ragd::test;
using nlohmann::json;

namespace {

// Ten French documents that any volcano question ranks first, five English ones that
// mention volcanoes in passing.
json volcano_documents() {
  json docs = json::array();
  for (int i = 0; i < 10; ++i) {
    docs.push_back({{"id", "fr-" + std::to_string(i)},
                    {"title", "Volcans"},
                    {"text", "Volcano magma eruption: the volcano erupts magma and ash, volcano " + std::to_string(i) + "."},
                    {"metadata", {{"lang", "fr"}, {"year", 2000 + i}}}});
  }
  for (int i = 0; i < 5; ++i) {
    docs.push_back({{"id", "en-" + std::to_string(i)},
                    {"title", "Travel"},
                    {"text", "Our trip went through farms, rivers and towns, and once past a volcano, on day " +
                                 std::to_string(i) + "."},
                    {"metadata", {{"lang", "en"}, {"year", 2020 + i}}}});
  }
  return {{"documents", docs}};
}

std::vector<std::string> source_ids(const HttpResult& r) {
  std::vector<std::string> ids;
  const json body = json_body(r);
  for (const auto& s : body["sources"]) ids.push_back(s["doc_id"]);
  return ids;
}

bool all_start_with(const std::vector<std::string>& ids, const std::string& prefix) {
  for (const auto& id : ids) {
    if (id.rfind(prefix, 0) != 0) return false;
  }
  return true;
}

}  // namespace

TEST(DocumentFilters, AFilteredQueryGetsTopKMatchingPassagesAndItsOwnCachedAnswer) {
  Stack stack;
  ASSERT_EQ(stack.post("/v1/documents", volcano_documents()).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  const json question = {{"query", "volcano magma eruption"}, {"top_k", 3}};

  // Unfiltered first, so that its answer is in the cache when the filtered one asks.
  auto unfiltered = stack.post("/query", question);
  ASSERT_EQ(unfiltered.status, 200) << unfiltered.body;
  ASSERT_EQ(source_ids(unfiltered).size(), 3u) << unfiltered.body;
  ASSERT_TRUE(all_start_with(source_ids(unfiltered), "fr-")) << unfiltered.body;

  json filtered_question = question;
  filtered_question["filter"] = {{"lang", "en"}};
  auto filtered = stack.post("/query", filtered_question);
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_EQ(json_body(filtered)["cache"], "miss") << "the unfiltered answer was served for a filtered question";
  EXPECT_EQ(source_ids(filtered).size(), 3u) << filtered.body;
  EXPECT_TRUE(all_start_with(source_ids(filtered), "en-")) << filtered.body;
  // The same filter written otherwise is the same cached answer.
  auto again = stack.post("/query", {{"query", "Volcano, magma eruption?"},
                                     {"top_k", 3},
                                     {"filter", {{"lang", {{"$in", json::array({"en"})}}}}}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json_body(again)["cache"], "hit") << again.body;
  EXPECT_EQ(source_ids(again), source_ids(filtered));

  // Ranges, in every mode; and a key no document has matches nothing.
  for (const char* mode : {"lexical", "dense", "hybrid"}) {
    auto ranged = stack.post("/query", {{"query", "volcano magma"},
                                        {"top_k", 5},
                                        {"mode", mode},
                                        {"cache", "bypass"},
                                        {"filter", {{"year", {{"$gte", 2003}, {"$lt", 2006}}}}}});
    ASSERT_EQ(ranged.status, 200) << ranged.body;
    const auto ids = source_ids(ranged);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), (std::set<std::string>{"fr-3", "fr-4", "fr-5"}))
        << mode << ": " << ranged.body;
    auto unknown = stack.post("/query", {{"query", "volcano magma"}, {"mode", mode}, {"cache", "bypass"},
                                         {"filter", {{"colour", "red"}}}});
    ASSERT_EQ(unknown.status, 200) << unknown.body;
    EXPECT_TRUE(source_ids(unknown).empty()) << mode << ": " << unknown.body;
  }

  // The chat endpoint takes the same filter.
  auto chat = stack.post("/v1/chat/completions",
                         {{"model", "ragd"},
                          {"messages", {{{"role", "user"}, {"content", "volcano magma eruption"}}}},
                          {"top_k", 2},
                          {"cache", "bypass"},
                          {"filter", {{"lang", "en"}}}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  const auto sources = json_body(chat)["ragd"]["sources"];
  ASSERT_EQ(sources.size(), 2u) << chat.body;
  for (const auto& s : sources) EXPECT_EQ(s["doc_id"].get<std::string>().rfind("en-", 0), 0u) << chat.body;
}

TEST(DocumentFilters, AMalformedFilterIsA400NamingTheProblemAndNothingIsAsked) {
  StackOptions opts;
  opts.start_worker = false;
  Stack stack(opts);
  expect_error(stack.post("/query", {{"query", "volcano"}, {"filter", {{"year", {{"$gt", "2020"}}}}}}), 400,
               "bad_request", "'filter.year.$gt' must be a number");
  expect_error(stack.post("/query", {{"query", "volcano"}, {"filter", {{"year", {{"$near", 1}}}}}}), 400,
               "bad_request", "unknown operator '$near' in 'filter.year'");
  expect_error(stack.post("/query", {{"query", "volcano"}, {"filter", "lang=en"}}), 400, "bad_request",
               "'filter' must be an object");
  expect_error(stack.post("/v1/chat/completions", {{"model", "ragd"},
                                                   {"messages", {{{"role", "user"}, {"content", "volcano"}}}},
                                                   {"filter", {{"team", {{"$in", json::array()}}}}}}),
               400, "bad_request", "'filter.team.$in' must be an array");
}

TEST(DocumentListing, PagesThroughEveryDocumentExactlyOnceWhileDocumentsComeAndGo) {
  StackOptions opts;
  opts.start_worker = false;
  Stack stack(opts);
  json docs = json::array();
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "doc-%02d", i);
    docs.push_back({{"id", id}, {"title", "Title " + std::to_string(i)}, {"text", "Text number " + std::to_string(i)},
                    {"metadata", {{"n", i}}}});
  }
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", docs}}).status, 200);

  std::vector<std::string> listed;
  std::string cursor;
  int pages = 0;
  for (;;) {
    auto page = stack.get("/v1/documents?limit=7" + (cursor.empty() ? std::string() : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.body;
    const json j = json_body(page);
    for (const auto& d : j["documents"]) {
      listed.push_back(d["id"]);
      EXPECT_FALSE(d.contains("text"));
      EXPECT_EQ(d["chunks"], 1);
      EXPECT_EQ(d["metadata"]["n"], std::stoi(d["id"].get<std::string>().substr(4)));
    }
    ++pages;
    if (pages == 1) {
      // Between pages: one document added before the cursor, one removed after it; the rest
      // must neither repeat nor go missing.
      ASSERT_EQ(stack.post("/v1/documents", {{"documents", {{{"id", "doc-00a"}, {"text", "late"}}}}}).status, 200);
      ASSERT_EQ(http_request(stack.port(), "DELETE", "/v1/documents/doc-20").status, 200);
    }
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
    ASSERT_LE(pages, 10) << "the listing does not end";
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    if (i == 20) continue;
    char id[16];
    std::snprintf(id, sizeof id, "doc-%02d", i);
    expected.push_back(id);
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(pages, 4);

  auto all = stack.get("/v1/documents");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(json_body(all)["documents"].size(), 25u) << "the default limit of 100 takes all";
  EXPECT_TRUE(json_body(all)["next_cursor"].is_null());
  expect_error(stack.get("/v1/documents?limit=0"), 400, "bad_request", "'limit'");
  expect_error(stack.get("/v1/documents?limit=1001"), 400, "bad_request", "'limit'");
  expect_error(stack.get("/v1/documents?cursor=not-a-cursor"), 400, "bad_request", "'cursor'");
}

// With two tenants' keys: each lists and filters its own documents alone, and listing
// needs the documents:read scope.
TEST(DocumentListing, ATenantListsAndFiltersItsOwnDocumentsOnly) {
  StackOptions opts;
  opts.gateway_config = {
      {"auth",
       {{"api_keys", json::array({{{"sha256", ragd::sha256_hex("key-a")}, {"tenant", "a"}},
                                  {{"sha256", ragd::sha256_hex("key-b")}, {"tenant", "b"}},
                                  {{"sha256", ragd::sha256_hex("key-q")}, {"tenant", "a"}, {"scopes", {"query"}}}})}}}};
  Stack stack(opts);
  auto as = [](const std::string& key) { return std::map<std::string, std::string>{{"Authorization", "Bearer " + key}}; };
  ASSERT_EQ(stack.post("/v1/documents", volcano_documents(), as("key-a")).status, 200);
  json own = {{"documents",
               {{{"id", "b-volcano"}, {"text", "A volcano we saw."}, {"metadata", {{"lang", "en"}, {"year", 2021}}}}}}};
  ASSERT_EQ(stack.post("/v1/documents", own, as("key-b")).status, 200);
  ASSERT_TRUE(stack.wait_ready());

  auto listed_b = http_request(stack.port(), "GET", "/v1/documents?limit=2", {}, as("key-b"));
  ASSERT_EQ(listed_b.status, 200) << listed_b.body;
  const json page_b = json_body(listed_b);
  ASSERT_EQ(page_b["documents"].size(), 1u) << listed_b.body;
  EXPECT_EQ(page_b["documents"][0]["id"], "b-volcano");
  EXPECT_TRUE(page_b["next_cursor"].is_null());

  auto listed_a = http_request(stack.port(), "GET", "/v1/documents?limit=1000", {}, as("key-a"));
  ASSERT_EQ(listed_a.status, 200) << listed_a.body;
  EXPECT_EQ(json_body(listed_a)["documents"].size(), 15u) << listed_a.body;

  auto filtered_b = http_request(stack.port(), "POST", "/query",
                                 json{{"query", "volcano"}, {"top_k", 3}, {"filter", {{"lang", "en"}}}}.dump(),
                                 as("key-b"));
  ASSERT_EQ(filtered_b.status, 200) << filtered_b.body;
  EXPECT_EQ(source_ids(filtered_b), std::vector<std::string>{"b-volcano"}) << filtered_b.body;

  expect_error(http_request(stack.port(), "GET", "/v1/documents", {}, as("key-q")), 403, "forbidden",
               "documents:read");
}
