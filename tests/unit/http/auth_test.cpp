// API-key authentication: off without keys; config keys by digest, with their scopes and ids.
#include "ragd/core/ids.hpp"
#include "ragd/http/auth.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::http;

TEST(ApiKeyAuth, IsOffWithoutKeysAndChecksConfigKeysByDigestWithThem) {
  ApiKeyAuth off(AuthConfig{}, nullptr);
  EXPECT_FALSE(off.enabled());
  const Principal anonymous = ApiKeyAuth::anonymous();
  EXPECT_EQ(anonymous.tenant, "default");
  EXPECT_TRUE(auth::has_scope(anonymous.scopes, auth::Scope::documents_write));
  EXPECT_FALSE(auth::has_scope(anonymous.scopes, auth::Scope::admin));

  AuthConfig cfg;
  ApiKeyConfig first;
  first.sha256 = sha256_hex("secret-1");
  first.tenant = "acme";
  first.name = "k1";
  cfg.api_keys.push_back(first);
  cfg.api_keys.push_back({sha256_hex("secret-2"), "globex", "", {"query"}, RateLimitConfig{5, 10}});
  ApiKeyAuth auth(cfg, nullptr);
  EXPECT_TRUE(auth.enabled());
  auto one = auth.resolve_now(sha256_hex("secret-1"));
  ASSERT_TRUE(one && *one);
  EXPECT_EQ((*one)->tenant, "acme");
  EXPECT_EQ((*one)->key_id, "config:k1");
  EXPECT_EQ((*one)->scopes, auth::kAllScopes);
  EXPECT_FALSE((*one)->rate_limit);
  auto two = auth.resolve_now(sha256_hex("secret-2"));
  ASSERT_TRUE(two && *two);
  EXPECT_EQ((*two)->tenant, "globex");
  EXPECT_EQ((*two)->key_id, "config:#1");
  EXPECT_EQ((*two)->scopes, auth::bit(auth::Scope::query));
  ASSERT_TRUE((*two)->rate_limit);
  EXPECT_EQ((*two)->rate_limit->requests_per_second, 5);
  // Without a key store an unknown digest is refused at once.
  auto wrong = auth.resolve_now(sha256_hex("wrong"));
  ASSERT_TRUE(wrong);
  ASSERT_FALSE(*wrong);
  EXPECT_EQ(wrong->error().code, Errc::unauthorized);
}

TEST(ApiKeyAuth, IsOnWithoutConfigKeysWhenRequired) {
  AuthConfig cfg;
  cfg.required = true;
  EXPECT_TRUE(ApiKeyAuth(cfg, nullptr).enabled());
}

TEST(PresentedApiKey, TakesXApiKeyFirstThenABearerTokenInAnyCase) {
  Request req;
  EXPECT_EQ(presented_api_key(req), "");
  req.headers = {{"authorization", "bEaReR tok-1"}};
  EXPECT_EQ(presented_api_key(req), "tok-1");
  req.headers = {{"authorization", "Bearer tok-1"}, {"x-api-key", "key-2"}};
  EXPECT_EQ(presented_api_key(req), "key-2");
  req.headers = {{"authorization", "Basic dXNlcjpwdw=="}};
  EXPECT_EQ(presented_api_key(req), "");
  req.headers = {{"authorization", "Bearer "}};
  EXPECT_EQ(presented_api_key(req), "");
}
