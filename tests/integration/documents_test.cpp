// The documents API with real processes: POST (with metadata), GET, replace and DELETE of
// /v1/documents, metadata in /query sources, and the errors, on each index kind.
#include "stack.hpp"

using namespace ragd::test;
using nlohmann::json;

namespace {

json tides_doc() {
  return {{"id", "tides"},
          {"title", "Ocean tides"},
          {"text", "Tides are the regular rise and fall of the sea, caused by the pull of the Moon.\n\n"
                   "Spring tides come at new and full moon; neap tides at the quarter moons."},
          {"metadata", {{"source", "handbook"}, {"page", 12}, {"reviewed", true}}}};
}

class DocumentsApi : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(DocumentsApi, GetReplaceDeleteAndMetadataInSources) {
  StackOptions opts;
  opts.gateway_config = {{"retrieval", {{"index", {{"type", GetParam()}}}}}};
  Stack stack(opts);
  auto posted = stack.post("/v1/documents", {{"documents", {tides_doc()}}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  const auto version = json_body(posted)["index_version"].get<std::uint64_t>();

  auto got = stack.get("/v1/documents/tides");
  ASSERT_EQ(got.status, 200) << got.body;
  auto doc = json_body(got);
  EXPECT_EQ(doc["id"], "tides");
  EXPECT_EQ(doc["title"], "Ocean tides");
  EXPECT_EQ(doc["text"], tides_doc()["text"]);
  EXPECT_EQ(doc["metadata"], tides_doc()["metadata"]);
  EXPECT_EQ(doc["chunks"], 1);
  EXPECT_EQ(doc["index_version"], version);

  ASSERT_TRUE(stack.wait_ready());
  auto q = stack.post("/query", {{"query", "What causes spring tides?"}, {"cache", "bypass"}});
  ASSERT_EQ(q.status, 200) << q.body;
  auto sources = json_body(q)["sources"];
  ASSERT_FALSE(sources.empty()) << q.body;
  EXPECT_EQ(sources[0]["doc_id"], "tides");
  EXPECT_EQ(sources[0]["metadata"], tides_doc()["metadata"]);

  // Replace: new text, new metadata, and the old text is no longer found.
  json replacement = {{"id", "tides"}, {"text", "Photosynthesis turns light into sugar in chloroplasts."},
                      {"metadata", {{"source", "notes"}}}};
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {replacement}}}).status, 200);
  doc = json_body(stack.get("/v1/documents/tides"));
  EXPECT_EQ(doc["text"], replacement["text"]);
  EXPECT_EQ(doc["title"], "");
  EXPECT_EQ(doc["metadata"], replacement["metadata"]);
  EXPECT_GT(doc["index_version"].get<std::uint64_t>(), version);
  q = stack.post("/query", {{"query", "What causes spring tides?"}, {"mode", "lexical"}, {"cache", "bypass"}});
  ASSERT_EQ(q.status, 200) << q.body;
  // Held: a range-for over a member of a temporary would read freed memory.
  const json replaced_sources = json_body(q)["sources"];
  for (const auto& s : replaced_sources) EXPECT_EQ(s["text"].get<std::string>().find("Spring"), std::string::npos);

  // A document without metadata answers with an empty object.
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {{{"id", "plain"}, {"text", "Just text."}}}}}).status, 200);
  EXPECT_EQ(json_body(stack.get("/v1/documents/plain"))["metadata"], json::object());

  // Delete: gone from GET, a second delete is a 404.
  auto deleted = http_request(stack.port(), "DELETE", "/v1/documents/tides");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  expect_error(stack.get("/v1/documents/tides"), 404, "not_found", "tides");
  expect_error(http_request(stack.port(), "DELETE", "/v1/documents/tides"), 404, "not_found", "tides");
  EXPECT_EQ(stack.get("/v1/documents/plain").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Types, DocumentsApi, ::testing::Values("flat", "hnsw", "ivf"),
                         [](const auto& info) { return info.param; });

TEST(DocumentsApiErrors, BadMetadataIsA400NamingTheFieldAndNothingIsIndexed) {
  StackOptions opts;
  opts.start_worker = false;
  Stack stack(opts);
  auto with_metadata = [](json metadata) {
    json d = tides_doc();
    d["metadata"] = std::move(metadata);
    return json{{"documents", {{{"id", "ok"}, {"text", "fine"}}, d}}};
  };
  expect_error(stack.post("/v1/documents", with_metadata(json::array({1, 2}))), 400, "bad_request",
               "documents[1].metadata");
  expect_error(stack.post("/v1/documents", with_metadata({{"nested", {{"a", 1}}}})), 400, "bad_request",
               "documents[1].metadata.nested");
  expect_error(stack.post("/v1/documents", with_metadata({{"list", json::array({"a"})}})), 400, "bad_request",
               "documents[1].metadata.list");
  expect_error(stack.post("/v1/documents", with_metadata({{"none", nullptr}})), 400, "bad_request",
               "documents[1].metadata.none");
  json many = json::object();
  for (int i = 0; i < 33; ++i) many["k" + std::to_string(i)] = i;
  expect_error(stack.post("/v1/documents", with_metadata(many)), 400, "bad_request", "more than 32 keys");
  expect_error(stack.post("/v1/documents", with_metadata({{"big", std::string(5000, 'x')}})), 400, "bad_request",
               "documents[1].metadata");
  expect_error(stack.post("/v1/documents", with_metadata({{"", 1}})), 400, "bad_request", "keys must be");
  EXPECT_EQ(stack.get("/v1/documents/ok").status, 404);
  EXPECT_EQ(stack.get("/v1/documents/tides").status, 404);
  expect_error(stack.get("/v1/documents/nope"), 404, "not_found", "nope");
}

TEST(DocumentsApiPaths, AnIdWithASlashIsReachedThroughItsEscapedPath) {
  StackOptions opts;
  opts.start_worker = false;
  Stack stack(opts);
  // `ragctl ingest DIR` names documents by their relative paths.
  json doc = {{"id", "docs/operations.md"}, {"text", "Start more workers when the queue grows."}};
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {doc}}}).status, 200);
  auto got = stack.get("/v1/documents/docs%2Foperations.md");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json_body(got)["id"], "docs/operations.md");
  auto deleted = http_request(stack.port(), "DELETE", "/v1/documents/docs%2foperations.md");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(json_body(deleted)["deleted"], "docs/operations.md");
  expect_error(stack.get("/v1/documents/docs%2Foperations.md"), 404, "not_found", "docs/operations.md");
  expect_error(stack.get("/v1/documents/docs%2"), 400, "bad_request", "percent-escape");
  expect_error(http_request(stack.port(), "DELETE", "/v1/documents/a%00b"), 400, "bad_request", "control characters");
}

TEST(DocumentsApiErrors, IdsThatAreBlankOrHoldControlCharactersAreA400AndNothingIsIndexed) {
  StackOptions opts;
  opts.start_worker = false;
  Stack stack(opts);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"   ", "documents[1].id is only whitespace"},
      {std::string("nul\0id", 6), "documents[1].id contains a control character (0x00)"},
      {"esc\x1b[2J", "documents[1].id contains a control character (0x1b)"},
      {"two\nlines", "documents[1].id contains a control character (0x0a)"},
      {"del\x7f", "documents[1].id contains a control character (0x7f)"},
  };
  for (const auto& [id, message] : cases) {
    json body = {{"documents", {{{"id", "ok"}, {"text", "fine"}}, {{"id", id}, {"text", "some text"}}}}};
    expect_error(stack.post("/v1/documents", body), 400, "bad_request", message);
  }
  EXPECT_EQ(stack.get("/v1/documents/ok").status, 404) << "a refused batch indexed its valid document";
  // A slash is allowed in an id (ragctl ingest DIR names documents by their path).
  json nested = {{"documents", {{{"id", "sub/file.md"}, {"text", "A document from a folder."}}}}};
  EXPECT_EQ(stack.post("/v1/documents", nested).status, 200);
}
