// API keys managed at runtime, with real processes: a config-file admin key creates keys
// through /v1/admin/keys (and ragctl creates them straight in Redis); every gateway
// replica accepts a new key, refuses a revoked one within a second, refuses expired keys
// (401) and keys without the route's scope (403 naming it); only digests reach Redis, and
// neither keys nor digests reach the log, which has one audit line per change.
#include "stack.hpp"

#include "ragd/core/ids.hpp"


using namespace ragd::test;
using nlohmann::json;

namespace {

json body_of(const HttpResult& r) { return json::parse(r.body, nullptr, false); }

std::map<std::string, std::string> as(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

// A gateway whose config lists one admin key of tenant "ops", and a query-only key of "a".
StackOptions with_admin() {
  StackOptions o;
  o.start_worker = false;
  o.gateway_config = {
      {"auth",
       {{"api_keys",
         {{{"sha256", ragd::sha256_hex("root-key")}, {"tenant", "ops"}, {"name", "bootstrap"}},
          {{"sha256", ragd::sha256_hex("query-only")}, {"tenant", "a"}, {"scopes", {"query"}}}}}}}};
  return o;
}

HttpResult call(int port, const std::string& method, const std::string& path, const std::string& key,
                const json& body = nullptr) {
  return http_request(port, method, path, body.is_null() ? std::string() : body.dump(), as(key));
}

std::string error_code(const HttpResult& r) {
  json b = body_of(r);
  return b.is_object() && b.contains("error") ? b["error"].value("code", "") : "";
}

CommandResult run(const std::string& cmd) { return run_command(cmd, /*stdout_only=*/true); }

}  // namespace

TEST(ApiKeys, ANewKeyWorksOnEveryReplicaAndItsRevocationReachesThemWithinASecond) {
  Stack stack(with_admin());
  const int replica = stack.add_gateway();
  auto created = call(stack.port(), "POST", "/v1/admin/keys", "root-key",
                      {{"tenant", "a"}, {"name", "ci-bot"}, {"scopes", {"query", "documents:read"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const json k = body_of(created);
  const std::string key = k.value("key", "");
  const std::string id = k.value("id", "");
  ASSERT_FALSE(key.empty());
  EXPECT_EQ(k["tenant"], "a");
  EXPECT_EQ(k["status"], "active");
  EXPECT_EQ(k["scopes"], json::array({"query", "documents:read"}));

  // Accepted by the other replica at once (404: authenticated, no such document).
  EXPECT_EQ(call(replica, "GET", "/v1/documents/x", key).status, 404);
  EXPECT_EQ(call(stack.port(), "GET", "/v1/documents/x", key).status, 404);

  auto revoked = call(stack.port(), "DELETE", "/v1/admin/keys/" + id, "root-key");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(body_of(revoked)["status"], "revoked");
  const auto t0 = std::chrono::steady_clock::now();
  // The replica trusted the key moments ago; it must stop within 1 s (key_cache_ms 500).
  EXPECT_TRUE(wait_until([&] { return call(replica, "GET", "/v1/documents/x", key).status == 401; },
                         std::chrono::milliseconds(1000)))
      << "still accepted "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
      << " ms after revocation";
  auto refused = call(replica, "GET", "/v1/documents/x", key);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(error_code(refused), "unauthorized");
  EXPECT_NE(body_of(refused)["error"].value("message", "").find("revoked"), std::string::npos) << refused.body;
  // A replica started after the revocation never accepts it.
  const int late = stack.add_gateway();
  EXPECT_EQ(call(late, "GET", "/v1/documents/x", key).status, 401);
  EXPECT_EQ(call(stack.port(), "DELETE", "/v1/admin/keys/key_0000000000000000", "root-key").status, 404);
}

TEST(ApiKeys, AMissingScopeIs403NamingItAndConfigKeysStillWork) {
  Stack stack(with_admin());
  auto created = call(stack.port(), "POST", "/v1/admin/keys", "root-key",
                      {{"tenant", "a"}, {"name", "reader"}, {"scopes", "query"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string key = body_of(created).value("key", "");
  auto write = call(stack.port(), "POST", "/v1/documents", key, {{"documents", {{{"id", "d"}, {"text", "t"}}}}});
  EXPECT_EQ(write.status, 403) << write.body;
  EXPECT_EQ(error_code(write), "forbidden");
  EXPECT_NE(body_of(write)["error"].value("message", "").find("documents:write"), std::string::npos) << write.body;
  auto read = call(stack.port(), "GET", "/v1/documents/d", key);
  EXPECT_EQ(read.status, 403);
  EXPECT_NE(body_of(read)["error"].value("message", "").find("documents:read"), std::string::npos) << read.body;
  // A config key limited to query cannot manage keys; the bootstrap key (all scopes) can.
  auto admin = call(stack.port(), "GET", "/v1/admin/keys", "query-only");
  EXPECT_EQ(admin.status, 403);
  EXPECT_NE(body_of(admin)["error"].value("message", "").find("admin"), std::string::npos) << admin.body;
  EXPECT_EQ(call(stack.port(), "POST", "/v1/documents", "root-key", {{"documents", {{{"id", "d"}, {"text", "t"}}}}}).status,
            200);
  EXPECT_EQ(call(stack.port(), "GET", "/v1/documents/x", "wrong-key").status, 401);
  // One audit line per change, naming tenant and key id; request lines carry both; the
  // key and its digest appear nowhere in the log.
  const std::string created_line = "audit: api key created key=" + body_of(created).value("id", "?") + " tenant=a";
  const std::string ingested_line = "audit: documents ingested tenant=ops key_id=config:bootstrap documents=1 ids=d";
  EXPECT_TRUE(wait_until([&] {
    const std::string log = stack.gateway().log();
    return log.find(created_line) != std::string::npos && log.find(ingested_line) != std::string::npos;
  }, std::chrono::seconds(5))) << stack.gateway().log();
  const std::string log = stack.gateway().log();
  EXPECT_NE(log.find("tenant=a key_id=" + body_of(created).value("id", "?")), std::string::npos);
  EXPECT_EQ(log.find(key), std::string::npos);
  EXPECT_EQ(log.find(ragd::sha256_hex(key)), std::string::npos);
  // Bad requests to the admin API name what to fix.
  auto bad_scope = call(stack.port(), "POST", "/v1/admin/keys", "root-key",
                        {{"tenant", "a"}, {"name", "n"}, {"scopes", "query,delete"}});
  EXPECT_EQ(bad_scope.status, 400);
  EXPECT_NE(body_of(bad_scope)["error"].value("message", "").find("delete"), std::string::npos) << bad_scope.body;
  auto bad_tenant = call(stack.port(), "POST", "/v1/admin/keys", "root-key",
                         {{"tenant", "a:b"}, {"name", "n"}, {"scopes", "query"}});
  EXPECT_EQ(bad_tenant.status, 400);
}

TEST(ApiKeys, AnExpiredKeyIs401) {
  Stack stack(with_admin());
  auto created = call(stack.port(), "POST", "/v1/admin/keys", "root-key",
                      {{"tenant", "a"}, {"name", "short"}, {"scopes", "documents:read"}, {"expires", "1s"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const json k = body_of(created);
  const std::string key = k.value("key", "");
  ASSERT_TRUE(k["expires_ms"].is_number());
  EXPECT_EQ(call(stack.port(), "GET", "/v1/documents/x", key).status, 404);
  ASSERT_TRUE(wait_until([&] { return call(stack.port(), "GET", "/v1/documents/x", key).status == 401; },
                         std::chrono::seconds(3)));
  auto refused = call(stack.port(), "GET", "/v1/documents/x", key);
  EXPECT_EQ(error_code(refused), "unauthorized");
  EXPECT_NE(body_of(refused)["error"].value("message", "").find("expired"), std::string::npos) << refused.body;
  auto listed = body_of(call(stack.port(), "GET", "/v1/admin/keys?tenant=a", "root-key"));
  ASSERT_EQ(listed["keys"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["keys"][0]["status"], "expired");
  EXPECT_TRUE(listed["keys"][0]["last_used_ms"].is_number());
}

TEST(ApiKeys, RagctlCreatesListsAndRevokesKeysInRedisWhichHoldsOnlyDigests) {
  StackOptions opts;
  opts.start_worker = false;
  opts.gateway_config = {{"auth", {{"required", true}}}};  // no config keys at all
  Stack stack(opts);
  const std::string ragctl = bin_path("ragctl") + " --redis " + stack.redis().url();
  auto created = run(ragctl + " keys create --tenant b --scopes query,documents:write --name ci-bot --rate 50/s");
  ASSERT_EQ(created.code, 0) << created.output;
  const std::string key = created.output.substr(0, created.output.find('\n'));
  ASSERT_EQ(key.rfind("ragd_", 0), 0u) << created.output;
  EXPECT_EQ(call(stack.port(), "POST", "/v1/documents", key, {{"documents", {{{"id", "d"}, {"text", "t"}}}}}).status,
            200);
  EXPECT_EQ(call(stack.port(), "GET", "/v1/admin/keys", key).status, 403);  // not an admin key
  EXPECT_EQ(call(stack.port(), "GET", "/v1/documents/d", "").status, 401);

  auto listed = run(ragctl + " keys list --tenant b --json");
  ASSERT_EQ(listed.code, 0) << listed.output;
  json keys = json::parse(listed.output, nullptr, false);
  ASSERT_TRUE(keys.is_array()) << listed.output;
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["name"], "ci-bot");
  EXPECT_EQ(keys[0]["rate_limit"]["requests_per_second"], 50);
  EXPECT_FALSE(keys[0].contains("key"));
  EXPECT_EQ(run(ragctl + " keys list --tenant nobody --json").output, "[]\n");

  // Redis holds the digest, never the key.
  const std::string dump = stack.redis().cli({"HGETALL", "ragd:apikey:{" + ragd::sha256_hex(key) + "}"});
  EXPECT_NE(dump.find("ci-bot"), std::string::npos) << dump;
  for (const std::string& k : {std::string("ragd:apikeys"), "ragd:apikey:{" + ragd::sha256_hex(key) + "}"}) {
    EXPECT_EQ(stack.redis().cli({"HGETALL", k}).find(key), std::string::npos);
  }

  auto revoked = run(ragctl + " keys revoke " + keys[0]["id"].get<std::string>());
  ASSERT_EQ(revoked.code, 0) << revoked.output;
  EXPECT_TRUE(wait_until([&] { return call(stack.port(), "GET", "/v1/documents/d", key).status == 401; },
                         std::chrono::milliseconds(1000)));
  EXPECT_EQ(run(ragctl + " keys revoke key_0000000000000000").code, 1);
  EXPECT_EQ(run(ragctl + " keys create --tenant b --scopes everything --name x").code, 2);
}

// Before, a client could try keys as fast as it liked: every wrong one was a plain 401.
TEST(ApiKeys, AnAddressWhoseAuthenticationsKeepFailingGets429BeforeItsKeyIsChecked) {
  StackOptions opts = with_admin();
  opts.gateway_config["auth"]["failed_auth_limit"] = {{"requests_per_second", 0.05}, {"burst", 3}};
  Stack stack(opts);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(stack.port(), "GET", "/v1/documents/x", "guess-" + std::to_string(i)).status, 401);
  auto limited = call(stack.port(), "GET", "/v1/documents/x", "guess-3");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(error_code(limited), "rate_limited");
  EXPECT_GE(std::stoi(limited.headers["retry-after"].empty() ? "0" : limited.headers["retry-after"]), 1);
  // While the address is refused, even the right key is not looked at.
  EXPECT_EQ(call(stack.port(), "GET", "/v1/documents/x", "root-key").status, 429);
}
