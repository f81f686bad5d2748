#include "ragd/http/gateway_config.hpp"

#include <gtest/gtest.h>

using namespace ragd;

TEST(GatewayConfig, DefaultsParseFromEmptyObject) {
  auto c = parse_gateway_config("{}");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.listen, "127.0.0.1:8080");
  EXPECT_TRUE(validate(*c));
}

TEST(GatewayConfig, AcceptsCommentsAndNestedValues) {
  auto c = parse_gateway_config(R"({
    // the listen address
    "server": {"listen": "0.0.0.0:9000", "threads": 3},
    "retrieval": {"chunker": {"target_chars": 500}}
  })");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c->server.threads, 3);
  EXPECT_EQ(c->retrieval.chunker.target_chars, 500u);
}

TEST(GatewayConfig, RejectsUnknownKeyNamingItsPath) {
  auto c = parse_gateway_config(R"({"server": {"listne": "x"}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("server.listne"), std::string::npos) << c.error().message;
}

TEST(GatewayConfig, RejectsWrongTypeNamingTheKey) {
  auto c = parse_gateway_config(R"({"server": {"threads": "four"}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("server.threads"), std::string::npos);
}

TEST(GatewayConfig, RejectsNegativeSizes) {
  auto c = parse_gateway_config(R"({"server": {"body_limit_bytes": -1}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("body_limit_bytes"), std::string::npos);
}

TEST(GatewayConfig, RejectsMalformedJson) {
  auto c = parse_gateway_config(R"({"server": )");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("JSON"), std::string::npos);
}

TEST(GatewayConfig, ValidatesApiKeyHashes) {
  auto bad = parse_gateway_config(R"({"auth": {"api_keys": [{"sha256": "abc", "tenant": "t"}]}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("auth.api_keys[0].sha256"), std::string::npos)
      << bad.error().message;
  auto good = parse_gateway_config(
      R"({"auth": {"api_keys": [{"sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "tenant": "t"}]}})");
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->auth.api_keys.at(0).tenant, "t");
}

TEST(GatewayConfig, RejectsTenantNamesThatCouldReachIntoAnotherTenantsKeys) {
  auto bad = parse_gateway_config(
      R"({"auth": {"api_keys": [{"sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "tenant": "a:b"}]}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("auth.api_keys[0].tenant"), std::string::npos) << bad.error().message;
}

TEST(GatewayConfig, ValidateRejectsOutOfRangeValues) {
  auto c = parse_gateway_config(R"({"query": {"default_top_k": 99, "max_top_k": 10}})");
  ASSERT_TRUE(c);
  auto v = validate(*c);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("default_top_k"), std::string::npos);
}

TEST(GatewayConfig, ParsesAndValidatesTheCacheSection) {
  auto c = parse_gateway_config(R"({"cache": {"soft_ttl_ms": 1000, "hard_ttl_ms": 5000, "l2_enabled": false}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->cache.soft_ttl_ms, 1000);
  EXPECT_FALSE(c->cache.l2_enabled);
  EXPECT_TRUE(validate(*c));
  auto bad = parse_gateway_config(R"({"cache": {"soft_ttl_ms": 5000, "hard_ttl_ms": 1000}})");
  ASSERT_TRUE(bad);
  auto v = validate(*bad);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("hard_ttl_ms"), std::string::npos);
  EXPECT_FALSE(parse_gateway_config(R"({"cache": {"sofd_ttl_ms": 1}})"));
}

TEST(GatewayConfig, ParsesTheRetrievalModeAndSnapshotKeys) {
  auto c = parse_gateway_config(R"({"retrieval": {"mode": "lexical", "snapshot_path": "x.snap", "rrf_k": 10}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->retrieval.mode, "lexical");
  EXPECT_EQ(c->retrieval.snapshot_path, "x.snap");
  EXPECT_TRUE(validate(*c));
  auto bad = parse_gateway_config(R"({"retrieval": {"mode": "fuzzy"}})");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(validate(*bad));
}

TEST(GatewayConfig, ParsesTheAnalyzerAndFusionKeysWithAnEnvironmentOverride) {
  auto c = parse_gateway_config(
      R"({"retrieval": {"analyzer": {"language": "german", "stop_words": false}, "fusion": "convex",
                        "dense_weight": 0.2, "bm25_k1": 1.2, "bm25_b": 0.75}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->retrieval.analyzer.language, "german");
  EXPECT_FALSE(c->retrieval.analyzer.stop_words);
  EXPECT_EQ(c->retrieval.fusion, "convex");
  EXPECT_EQ(c->retrieval.dense_weight, 0.2);
  EXPECT_EQ(c->retrieval.bm25_k1, 1.2);
  EXPECT_EQ(c->retrieval.bm25_b, 0.75);
  EXPECT_TRUE(validate(*c));
  ::setenv("RAGD_ANALYZER_LANGUAGE", "french", 1);
  auto applied = apply_gateway_env(*c);
  ::unsetenv("RAGD_ANALYZER_LANGUAGE");
  ASSERT_TRUE(applied);
  EXPECT_EQ(c->retrieval.analyzer.language, "french");

  for (const char* bad : {R"({"retrieval": {"analyzer": {"language": "klingon"}}})",
                          R"({"retrieval": {"fusion": "max"}})", R"({"retrieval": {"dense_weight": -1}})"}) {
    auto parsed = parse_gateway_config(bad);
    ASSERT_TRUE(parsed) << bad;
    EXPECT_FALSE(validate(*parsed)) << bad;
  }
  EXPECT_FALSE(parse_gateway_config(R"({"retrieval": {"analyzer": {"stemmer": "porter"}}})"));
}

TEST(GatewayConfig, QueueKeysFollowTheRedisKeyPrefix) {
  auto c = parse_gateway_config(R"({"redis": {"key_prefix": "tenant-b:"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->queue.key_prefix, "tenant-b:");
  EXPECT_EQ(c->queue.jobs_stream, "tenant-b:jobs");

  auto explicit_stream =
      parse_gateway_config(R"({"redis": {"key_prefix": "b:"}, "queue": {"jobs_stream": "shared:jobs"}})");
  ASSERT_TRUE(explicit_stream) << explicit_stream.error().message;
  EXPECT_EQ(explicit_stream->queue.jobs_stream, "shared:jobs") << "an explicit stream name wins";
  EXPECT_EQ(explicit_stream->queue.key_prefix, "b:");

  auto defaults = parse_gateway_config("{}");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->queue.jobs_stream, "ragd:jobs");
}

TEST(GatewayConfig, ReadinessRequiresWorkersUnlessTurnedOffByFileOrEnv) {
  auto defaults = parse_gateway_config("{}");
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->readiness.require_workers);
  auto off = parse_gateway_config(R"({"readiness": {"require_workers": false}})");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->readiness.require_workers);
  EXPECT_FALSE(parse_gateway_config(R"({"readiness": {"require_worker": false}})"));

  ::setenv("RAGD_READINESS_REQUIRE_WORKERS", "off", 1);
  GatewayConfig c = *defaults;
  auto applied = apply_gateway_env(c);
  ::setenv("RAGD_READINESS_REQUIRE_WORKERS", "maybe", 1);
  GatewayConfig bad = *defaults;
  auto rejected = apply_gateway_env(bad);
  ::unsetenv("RAGD_READINESS_REQUIRE_WORKERS");
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_FALSE(c.readiness.require_workers);
  EXPECT_FALSE(rejected);
}
