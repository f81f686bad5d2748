#include "ragd/core/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace ragd {
namespace {

TEST(EmbedderConfig, DefaultsToTheBuiltInEmbedder) {
  auto c = parse_gateway_config("{}");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->retrieval.embedder.base_url.empty());
  EXPECT_TRUE(c->retrieval.embedder.cache.enabled);
  EXPECT_TRUE(validate(*c).has_value());
}

TEST(EmbedderConfig, ReadsEveryKeyAndRejectsUnknownOnes) {
  auto c = parse_gateway_config(R"({"retrieval": {"embedder": {
      "base_url": "http://127.0.0.1:8000", "model": "m", "api_key_env": "MY_KEY", "dim": 768,
      "batch": 32, "max_inflight": 2, "timeout_ms": 500, "max_attempts": 4,
      "cache": {"enabled": false, "l1_max_entries": 10, "l1_max_bytes": 8192, "l2_enabled": false,
                "l2_ttl_ms": 1000}}}})");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  const EmbedderConfig& e = c->retrieval.embedder;
  EXPECT_EQ(e.base_url, "http://127.0.0.1:8000");
  EXPECT_EQ(e.model, "m");
  EXPECT_EQ(e.api_key_env, "MY_KEY");
  EXPECT_EQ(e.dim, 768);
  EXPECT_EQ(e.batch, 32);
  EXPECT_EQ(e.max_inflight, 2);
  EXPECT_EQ(e.timeout_ms, 500);
  EXPECT_EQ(e.max_attempts, 4);
  EXPECT_FALSE(e.cache.enabled);
  EXPECT_EQ(e.cache.l1_max_entries, 10u);
  EXPECT_FALSE(e.cache.l2_enabled);
  EXPECT_EQ(e.cache.l2_ttl_ms, 1000);
  EXPECT_TRUE(validate(*c).has_value());

  EXPECT_FALSE(parse_gateway_config(R"({"retrieval": {"embedder": {"dims": 768}}})").has_value());
}

TEST(EmbedderConfig, ValidationNamesTheBadKey) {
  auto c = parse_gateway_config(R"({"retrieval": {"embedder": {"base_url": "ftp://x", "dim": 768}}})");
  ASSERT_TRUE(c.has_value());
  auto v = validate(*c);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("retrieval.embedder.base_url"), std::string::npos) << v.error().message;

  c = parse_gateway_config(R"({"retrieval": {"embedder": {"dim": 0}}})");
  ASSERT_TRUE(c.has_value());
  v = validate(*c);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("retrieval.embedder.dim"), std::string::npos) << v.error().message;
}

TEST(EmbedderConfig, EnvironmentOverridesTheFile) {
  auto c = parse_gateway_config(R"({"retrieval": {"embedder": {"base_url": "http://file:1", "dim": 64}}})");
  ASSERT_TRUE(c.has_value());
  ::setenv("RAGD_EMBED_BASE_URL", "http://env:2", 1);
  ::setenv("RAGD_EMBED_MODEL", "env-model", 1);
  ::setenv("RAGD_EMBED_DIM", "384", 1);
  auto applied = apply_gateway_env(*c);
  ::unsetenv("RAGD_EMBED_BASE_URL");
  ::unsetenv("RAGD_EMBED_MODEL");
  ::unsetenv("RAGD_EMBED_DIM");
  ASSERT_TRUE(applied.has_value()) << applied.error().message;
  EXPECT_EQ(c->retrieval.embedder.base_url, "http://env:2");
  EXPECT_EQ(c->retrieval.embedder.model, "env-model");
  EXPECT_EQ(c->retrieval.embedder.dim, 384);
}

}  // namespace
}  // namespace ragd
