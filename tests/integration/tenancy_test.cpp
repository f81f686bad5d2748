// Tenants over real HTTP: two tenants' API keys against one gateway, a real redis-server,
// ragd-worker and the fake LLM. Whatever one tenant stores (session turns, profiles, rate
// limit state, answers) never reaches the other, and it all lives under the tenant's own
// Redis keys (`<prefix>t:<tenant>:...`, docs/operations.md).
#include "stack.hpp"

#include "ragd/core/ids.hpp"

using namespace ragd::test;
using nlohmann::json;

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

}  // namespace

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
