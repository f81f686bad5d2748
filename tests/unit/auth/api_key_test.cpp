#include "ragd/auth/api_key.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace ragd;
using namespace ragd::auth;

TEST(ApiKey, ScopesParseFromTheirNamesAndRejectUnknownOnes) {
  auto s = parse_scopes("query, documents:write");
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_scope(*s, Scope::query));
  EXPECT_TRUE(has_scope(*s, Scope::documents_write));
  EXPECT_FALSE(has_scope(*s, Scope::documents_read));
  EXPECT_FALSE(has_scope(*s, Scope::admin));
  EXPECT_EQ(format_scopes(*s), "query,documents:write");
  EXPECT_EQ(format_scopes(kAllScopes), "query,documents:read,documents:write,admin");
  auto bad = parse_scopes("query,documents");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'documents'"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(parse_scopes(""));
  EXPECT_FALSE(parse_scopes("query,"));
}

TEST(ApiKey, LifetimesAndRatesReadAsOperatorsWriteThem) {
  EXPECT_EQ(*parse_lifetime_ms("30d"), 30LL * 86400000);
  EXPECT_EQ(*parse_lifetime_ms("12h"), 12LL * 3600000);
  EXPECT_EQ(*parse_lifetime_ms("90m"), 90LL * 60000);
  EXPECT_EQ(*parse_lifetime_ms("45s"), 45000);
  for (const char* bad : {"", "30", "d", "-1d", "0s", "1w", "3651d", "0.5s"}) EXPECT_FALSE(parse_lifetime_ms(bad)) << bad;
  EXPECT_DOUBLE_EQ(*parse_rate("50/s"), 50.0);
  EXPECT_DOUBLE_EQ(*parse_rate("600/m"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_rate("3600/h"), 1.0);
  for (const char* bad : {"", "50", "/s", "0/s", "-5/s", "5/d", "2000000/s"}) EXPECT_FALSE(parse_rate(bad)) << bad;
}

TEST(ApiKey, AKeyRequestIsCheckedFieldByField) {
  const std::int64_t now = 1'000'000;
  auto k = parse_key_request({"acme", "ci-bot", "query", "1h", "10/s"}, now);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->tenant, "acme");
  EXPECT_EQ(k->expires_ms, now + 3600000);
  EXPECT_DOUBLE_EQ(k->rate_per_second, 10.0);
  EXPECT_EQ(k->rate_burst, 10);
  auto never = parse_key_request({"acme", "n", "admin", "", ""}, now);
  ASSERT_TRUE(never);
  EXPECT_EQ(never->expires_ms, 0);
  EXPECT_EQ(never->rate_per_second, 0);

  auto message = [&](KeyRequest r) {
    auto bad = parse_key_request(r, now);
    EXPECT_FALSE(bad);
    return bad ? std::string() : bad.error().message;
  };
  EXPECT_NE(message({"a:b", "n", "query", "", ""}).find("'tenant'"), std::string::npos);
  EXPECT_NE(message({"a", "", "query", "", ""}).find("'name'"), std::string::npos);
  EXPECT_NE(message({"a", "n", "nope", "", ""}).find("'scopes'"), std::string::npos);
  EXPECT_NE(message({"a", "n", "query", "soon", ""}).find("'expires'"), std::string::npos);
  EXPECT_NE(message({"a", "n", "query", "", "fast"}).find("'rate'"), std::string::npos);
}

TEST(ApiKey, ARecordIsRefusedOnceRevokedOrExpiredAndShownWithoutItsDigest) {
  ApiKey k;
  k.id = "key_1";
  k.sha256 = "abc123";
  k.tenant = "t";
  k.scopes = bit(Scope::query);
  k.expires_ms = 2000;
  EXPECT_EQ(k.refusal(1999), "");
  EXPECT_EQ(k.refusal(2000), "expired");
  k.revoked_ms = 1500;
  EXPECT_EQ(k.refusal(1000), "revoked");
  auto j = key_json(k, 1000);
  EXPECT_EQ(j["status"], "revoked");
  EXPECT_EQ(j["scopes"], nlohmann::json::array({"query"}));
  EXPECT_TRUE(j["last_used_ms"].is_null());
  EXPECT_EQ(j.dump().find("abc123"), std::string::npos);
}

TEST(ApiKey, FreshKeysAndIdsAreRandomAndShapedForLogs) {
  const std::string a = new_key_secret(), b = new_key_secret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("ragd_", 0), 0u);
  EXPECT_EQ(a.size(), 5u + 32u);
  const std::string id = new_key_id();
  EXPECT_EQ(id.rfind("key_", 0), 0u);
  EXPECT_EQ(id.size(), 4u + 16u);
}
