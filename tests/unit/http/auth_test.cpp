// API-key authentication: off without keys; with keys, either header, hashes compared.
#include "ragd/core/ids.hpp"
#include "ragd/http/auth.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::http;

TEST(ApiKeyAuth, IsOffWithoutKeysAndChecksHashesWithThem) {
  Request req;
  EXPECT_EQ(*ApiKeyAuth(AuthConfig{}).authenticate(req), "default");

  AuthConfig cfg;
  cfg.api_keys.push_back({sha256_hex("secret-1"), "acme", "k1", {}});
  cfg.api_keys.push_back({sha256_hex("secret-2"), "globex", "k2", {}});
  ApiKeyAuth auth(cfg);
  EXPECT_EQ(auth.authenticate(req).error().code, Errc::unauthorized);
  req.headers = {{"authorization", "Bearer secret-2"}};
  EXPECT_EQ(*auth.authenticate(req), "globex");
  req.headers = {{"x-api-key", "secret-1"}};
  EXPECT_EQ(*auth.authenticate(req), "acme");
  req.headers = {{"authorization", "Bearer wrong"}};
  EXPECT_EQ(auth.authenticate(req).error().code, Errc::unauthorized);
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
