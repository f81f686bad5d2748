// Tenants over real HTTP: two tenants' API keys against one gateway, a real redis-server,
// ragd-worker and the fake LLM. Whatever one tenant stores (documents, session turns,
// profiles, rate limit state, answers) never reaches the other, and its Redis state lives
// under the tenant's own keys (`<prefix>t:<tenant>:...`, docs/operations.md). Documents are
// each tenant's own on every replica and through a snapshot and a restart.
#include "sse_client.hpp"
#include "stack.hpp"

#include "ragd/core/ids.hpp"

#include <filesystem>
#include <fstream>

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json body_of(const HttpResult& r) { return json::parse(r.body, nullptr, false); }

std::map<std::string, std::string> as(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

json two_tenants() {
  return json::array({{{"sha256", ragd::sha256_hex("key-a")}, {"tenant", "a"}},
                      {{"sha256", ragd::sha256_hex("key-b")}, {"tenant", "b"}}});
}

StackOptions with_llm(FakeLlm& llm, json gateway) {
  StackOptions o;
  o.worker_env = {{"RAGD_LLM_BASE_URL", llm.base_url()}};
  o.gateway_config = std::move(gateway);
  return o;
}

// The words the fake LLM counted in the prompt of a computed (not cached) answer.
long prompt_tokens(const HttpResult& r) {
  json b = body_of(r);
  EXPECT_EQ(r.status, 200) << r.body;
  if (!b.is_object() || !b.contains("usage")) return -1;
  return b["usage"].value("prompt_tokens", -1L);
}

json document(const std::string& id, const std::string& text) {
  return {{"documents", {{{"id", id}, {"text", text}}}}};
}

HttpResult get_document(int port, const std::string& id, const std::string& key) {
  return http_request(port, "GET", "/v1/documents/" + id, {}, as(key));
}

HttpResult delete_document(int port, const std::string& id, const std::string& key) {
  return http_request(port, "DELETE", "/v1/documents/" + id, {}, as(key));
}

// The body without its request id (which every response has its own of).
json without_request_id(const HttpResult& r) {
  json b = body_of(r);
  if (b.is_object() && b.contains("error") && b["error"].is_object()) b["error"].erase("request_id");
  if (b.is_object()) b.erase("request_id");
  return b;
}

std::string text_of(const HttpResult& r) {
  json b = body_of(r);
  return b.is_object() ? b.value("text", std::string("<no text: ") + r.body + ">") : r.body;
}

const std::string kSecret = "Our launch codename is bluebird seven; the launch is on the ninth of March.";
const std::string kQuestion = "What is our launch codename?";

// The gateway's reply to `key`'s query, and the answer's sources' texts.
json ask(int port, const std::string& key, const std::string& question, const std::string& cache = "use") {
  json q = {{"query", question}, {"cache", cache}};
  auto r = http_request(port, "POST", "/query", q.dump(), as(key));
  EXPECT_EQ(r.status, 200) << r.body;
  return body_of(r);
}

}  // namespace

// Before documents were a tenant's, B's key read and deleted A's document by its id, and B's
// own document of that id replaced A's.
TEST(Tenancy, AnotherTenantsDocumentIdIsAPlain404AndTheSameIdIsTwoDocuments) {
  StackOptions opts;
  opts.start_worker = false;
  opts.gateway_config = {{"auth", {{"api_keys", two_tenants()}}}};
  Stack stack(opts);
  const int port = stack.port();
  const json missing_get = without_request_id(get_document(port, "guide.md", "key-b"));
  const json missing_delete = without_request_id(delete_document(port, "guide.md", "key-b"));
  ASSERT_EQ(stack.post("/v1/documents", document("guide.md", kSecret), as("key-a")).status, 200);

  auto b_get = get_document(port, "guide.md", "key-b");
  EXPECT_EQ(b_get.status, 404) << b_get.body;
  EXPECT_EQ(without_request_id(b_get), missing_get) << "a's id answers b unlike a missing one";
  auto b_delete = delete_document(port, "guide.md", "key-b");
  EXPECT_EQ(b_delete.status, 404) << b_delete.body;
  EXPECT_EQ(without_request_id(b_delete), missing_delete);
  EXPECT_EQ(text_of(get_document(port, "guide.md", "key-a")), kSecret) << "b's delete reached a's document";

  // The same id in b is b's own document; deleting it leaves a's.
  auto b_post = stack.post("/v1/documents", document("guide.md", "Bees make honey."), as("key-b"));
  ASSERT_EQ(b_post.status, 200) << b_post.body;
  EXPECT_EQ(text_of(get_document(port, "guide.md", "key-b")), "Bees make honey.");
  EXPECT_EQ(text_of(get_document(port, "guide.md", "key-a")), kSecret);
  EXPECT_EQ(delete_document(port, "guide.md", "key-b").status, 200);
  EXPECT_EQ(get_document(port, "guide.md", "key-b").status, 404);
  EXPECT_EQ(text_of(get_document(port, "guide.md", "key-a")), kSecret);
}

// Before retrieval was a tenant's, B's /query, chat completion and streamed query answered
// from A's passages (the built-in generator quotes them), and A's ingest moved the index
// version in B's answer-cache keys.
TEST(Tenancy, QueriesRetrieveOnlyTheCallersDocumentsAndKeepTheirOwnCachedAnswers) {
  StackOptions opts;
  opts.gateway_config = {{"auth", {{"api_keys", two_tenants()}}}};
  Stack stack(opts);
  const int port = stack.port();
  ASSERT_EQ(stack.post("/v1/documents", document("plan.md", kSecret), as("key-a")).status, 200);
  ASSERT_TRUE(stack.wait_ready());

  json a = ask(port, "key-a", kQuestion);
  ASSERT_EQ(a["sources"].size(), 1u) << a.dump();
  EXPECT_EQ(a["sources"][0]["doc_id"], "plan.md");
  EXPECT_NE(a.dump().find("bluebird"), std::string::npos) << "the generator did not quote a's passage";
  EXPECT_EQ(ask(port, "key-a", kQuestion)["cache"], "hit");

  // The same question from b: none of a's passages, and not a's cached answer.
  json b = ask(port, "key-b", kQuestion);
  EXPECT_EQ(b["sources"], json::array()) << b.dump();
  EXPECT_EQ(b["cache"], "miss");
  EXPECT_EQ(b.dump().find("bluebird"), std::string::npos) << b.dump();

  json chat = {{"model", "ragd"}, {"messages", {{{"role", "user"}, {"content", kQuestion}}}}};
  auto b_chat = http_request(port, "POST", "/v1/chat/completions", chat.dump(), as("key-b"));
  EXPECT_EQ(b_chat.status, 200) << b_chat.body;
  EXPECT_EQ(b_chat.body.find("bluebird"), std::string::npos) << b_chat.body;
  auto a_chat = http_request(port, "POST", "/v1/chat/completions", chat.dump(), as("key-a"));
  EXPECT_EQ(a_chat.status, 200) << a_chat.body;
  EXPECT_NE(a_chat.body.find("bluebird"), std::string::npos) << a_chat.body;

  json streamed = {{"query", "When is the launch, and what is it called?"}, {"stream", true}, {"cache", "bypass"}};
  SseClient sse(port, "/query", streamed.dump(), as("key-b"));
  std::string events;
  bool done = false;
  while (auto e = sse.next_event(30s)) {
    events += e->event + ": " + e->data + "\n";
    if (e->event == "done" || e->event == "error") {
      done = e->event == "done";
      break;
    }
  }
  EXPECT_TRUE(done) << events;
  EXPECT_EQ(events.find("bluebird"), std::string::npos) << events;

  // A's ingest leaves b's index version, so b's cached answer stays a hit.
  json b_own = ask(port, "key-b", "How do bees make honey?");
  EXPECT_EQ(b_own["cache"], "miss");
  ASSERT_EQ(stack.post("/v1/documents", document("more.md", "Another plan of a."), as("key-a")).status, 200);
  EXPECT_EQ(ask(port, "key-b", "How do bees make honey?")["cache"], "hit") << "a's ingest invalidated b's answers";
  EXPECT_EQ(ask(port, "key-a", kQuestion)["cache"], "miss") << "a's ingest left a's old answer in use";
}

// Tenants travel through the ingest stream and the snapshot: on a second replica, and on it
// again after a restart from its snapshot, each tenant has its own document of one id, a
// delete in one tenant leaves the other's, and b's queries never see a's passages.
TEST(Tenancy, ReplicasAndASnapshotRoundTripKeepEachTenantsDocuments) {
  const json auth = {{"auth", {{"api_keys", two_tenants()}}}};
  StackOptions opts;
  opts.gateway_config = auth;
  Stack stack(opts);
  json replica_config = auth;
  replica_config["retrieval"] = {{"snapshot_path", stack.dir() + "/r.snap"}, {"snapshot_interval_ms", 50}};
  Replica replica(stack, "r", replica_config);
  const int first = stack.port();
  ASSERT_EQ(stack.post("/v1/documents", document("guide.md", kSecret), as("key-a")).status, 200);
  ASSERT_EQ(http_request(replica.port(), "POST", "/v1/documents", document("guide.md", "Bees make honey.").dump(),
                         as("key-b")).status, 200);
  auto b_delete = delete_document(first, "guide.md", "key-b");
  ASSERT_EQ(b_delete.status, 200) << b_delete.body;
  ASSERT_TRUE(wait_until([&] { return get_document(replica.port(), "guide.md", "key-b").status == 404; }, 10s));
  ASSERT_EQ(stack.post("/v1/documents", document("bees.md", "Bees of b dance."), as("key-b")).status, 200);
  ASSERT_TRUE(wait_until([&] { return get_document(replica.port(), "bees.md", "key-b").status == 200; }, 10s));

  auto check = [&](int port, const std::string& where) {
    EXPECT_EQ(text_of(get_document(port, "guide.md", "key-a")), kSecret) << where;
    EXPECT_EQ(get_document(port, "guide.md", "key-b").status, 404) << where;
    EXPECT_EQ(get_document(port, "bees.md", "key-a").status, 404) << where;
    json b = ask(port, "key-b", kQuestion, "bypass");
    EXPECT_EQ(b.dump().find("bluebird"), std::string::npos) << where << ": " << b.dump();
    for (const auto& s : b["sources"]) EXPECT_EQ(s["doc_id"], "bees.md") << where;
  };
  ASSERT_TRUE(stack.wait_ready());
  check(first, "first replica");
  check(replica.port(), "second replica");

  replica.stop();  // saves its snapshot
  replica.start();
  check(replica.port(), "second replica after a restart");
  // Everything came from the snapshot: nothing was applied from the stream again.
  auto metrics = http_request(replica.port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("ragd_replication_entries_applied_total 0"), std::string::npos);
}

// Before tenants reached sessions, B's query in A's session id carried A's turns in its
// prompt: more prompt words than the same query in a fresh session.
TEST(Tenancy, ASessionIdUsedByTwoTenantsKeepsTwoHistories) {
  FakeLlm llm;
  Stack stack(with_llm(llm, {{"auth", {{"api_keys", two_tenants()}}}}));
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {{{"id", "d"}, {"text", "Bees make honey."}}}}}, as("key-a")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  json a_turn = {{"query", "Our launch codename is bluebird seven, what do bees make?"}, {"session_id", "shared"},
                 {"cache", "bypass"}};
  ASSERT_EQ(stack.post("/query", a_turn, as("key-a")).status, 200);

  json b_in_shared = {{"query", "What do bees make?"}, {"session_id", "shared"}, {"cache", "bypass"}};
  json b_in_fresh = {{"query", "What do bees make?"}, {"session_id", "fresh"}, {"cache", "bypass"}};
  const long shared = prompt_tokens(stack.post("/query", b_in_shared, as("key-b")));
  const long fresh = prompt_tokens(stack.post("/query", b_in_fresh, as("key-b")));
  ASSERT_GT(fresh, 0);
  EXPECT_EQ(shared, fresh) << "b's prompt in session 'shared' carried a's turn";

  EXPECT_EQ(stack.redis().cli({"LLEN", "ragd:t:a:session:{shared}"}), "1");
  EXPECT_EQ(stack.redis().cli({"LLEN", "ragd:t:b:session:{shared}"}), "1");
  EXPECT_EQ(stack.redis().cli({"EXISTS", "ragd:session:{shared}"}), "0");
  // A's own next turn still sees its history (one turn: two more messages than a fresh one).
  json a_again = {{"query", "What do bees make?"}, {"session_id", "shared"}, {"cache", "bypass"}};
  EXPECT_GT(prompt_tokens(stack.post("/query", a_again, as("key-a"))), fresh);
}

// Profiles were read from `profile:{user_id}` whatever the tenant and the key prefix: B got
// A's profile, and two deployments on one Redis read each other's.
TEST(Tenancy, ProfilesAreReadFromTheCallersTenantUnderTheKeyPrefix) {
  FakeLlm llm;
  Stack stack(with_llm(llm, {{"auth", {{"api_keys", two_tenants()}}}}));
  ASSERT_EQ(stack.post("/v1/documents", {{"documents", {{{"id", "d"}, {"text", "Bees make honey."}}}}}, as("key-a")).status, 200);
  ASSERT_TRUE(stack.wait_ready());
  stack.redis().cli({"HSET", "ragd:t:a:profile:{u1}", "expertise", "entomologist with thirty years in the field"});
  stack.redis().cli({"HSET", "profile:{u1}", "expertise", "unprefixed key of another deployment"});

  auto ask = [&](const std::string& key, bool with_user) {
    json q = {{"query", "What do bees make?"}, {"cache", "bypass"}};
    if (with_user) q["user_id"] = "u1";
    return stack.post("/query", q, as(key));
  };
  const long a_plain = prompt_tokens(ask("key-a", false));
  const long a_user = prompt_tokens(ask("key-a", true));
  EXPECT_GT(a_user, a_plain) << "a's profile did not reach a's prompt";
  const long b_plain = prompt_tokens(ask("key-b", false));
  const long b_user = prompt_tokens(ask("key-b", true));
  EXPECT_EQ(b_user, b_plain) << "b's prompt carried a profile that is not b's";
}

// Rate-limit buckets were `<prefix>ratelimit:<key hash>`, outside any tenant's keys.
TEST(Tenancy, RateLimitBucketsAreEachKeysOwnUnderItsTenant) {
  json keys = two_tenants();
  keys[0]["rate_limit"] = {{"requests_per_second", 0.01}, {"burst", 1}};
  StackOptions opts;
  opts.start_worker = false;
  opts.gateway_config = {{"auth", {{"api_keys", keys}}}};
  Stack stack(opts);
  auto get_doc = [&](const std::string& key) { return http_request(stack.port(), "GET", "/v1/documents/none", {}, as(key)); };
  EXPECT_EQ(get_doc("key-a").status, 404);
  auto limited = get_doc("key-a");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_FALSE(limited.headers["retry-after"].empty());
  EXPECT_EQ(get_doc("key-b").status, 404) << "b drew from a's bucket";
  EXPECT_EQ(stack.redis().cli({"EXISTS", "ragd:t:a:ratelimit:{" + ragd::sha256_hex("key-a") + "}"}), "1");
  EXPECT_EQ(stack.redis().cli({"EXISTS", "ragd:ratelimit:" + ragd::sha256_hex("key-a")}), "0");
}

// ragctl builds a snapshot offline into the tenant it is told (before, every document it
// indexed was everyone's); a server sends documents to the API key's tenant instead, so the
// flag is refused there.
TEST(Tenancy, RagctlBuildsAnOfflineSnapshotIntoTheTenantItIsTold) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/docs");
  std::ofstream(dir.path() + "/docs/plan.md") << kSecret << "\n";
  const std::string snapshot = dir.path() + "/index.snap";
  auto built = run_command(bin_path("ragctl") + " ingest " + dir.path() + "/docs --snapshot " + snapshot + " --tenant a");
  ASSERT_EQ(built.code, 0) << built.output;
  EXPECT_NE(built.output.find("indexed 1 documents, 1 chunks of tenant a"), std::string::npos) << built.output;

  StackOptions opts;
  opts.start_worker = false;
  opts.gateway_config = {{"auth", {{"api_keys", two_tenants()}}}, {"retrieval", {{"snapshot_path", snapshot}}}};
  Stack stack(opts);
  EXPECT_EQ(text_of(get_document(stack.port(), "plan.md", "key-a")), kSecret + "\n");
  EXPECT_EQ(get_document(stack.port(), "plan.md", "key-b").status, 404);

  auto refused = run_command(bin_path("ragctl") + " ingest " + dir.path() + "/docs --tenant a");
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("--tenant applies to ingest --snapshot"), std::string::npos) << refused.output;
}
