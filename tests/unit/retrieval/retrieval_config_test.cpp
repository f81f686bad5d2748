#include "ragd/retrieval/retrieval_config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace ragd {
namespace {

// The retrieval section as ragd's file nests it: {"retrieval": {...}}.
struct Parsed {
  RetrievalConfig retrieval;
};

void describe_file(ConfigFields& f, Parsed& p) {
  f.section("retrieval", [&](ConfigFields& s) { describe(s, p.retrieval); });
}

Result<Parsed> parse_file(const std::string& text) {
  Parsed p;
  if (auto r = read_config(text, [&](ConfigFields& f) { describe_file(f, p); }); !r) return r.error();
  return p;
}

Result<void> validate(Parsed p) {
  return validate_config([&](ConfigFields& f) { describe_file(f, p); });
}

Result<void> apply_env(Parsed& p) {
  return apply_config_env([&](ConfigFields& f) { describe_file(f, p); });
}

TEST(RetrievalConfig, EmbedderDefaultsToTheBuiltInEmbedder) {
  auto c = parse_file("{}");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->retrieval.embedder.base_url.empty());
  EXPECT_TRUE(c->retrieval.embedder.cache.enabled);
  EXPECT_TRUE(validate(*c).has_value());
}

TEST(RetrievalConfig, EmbedderReadsEveryKeyAndRejectsUnknownOnes) {
  auto c = parse_file(R"({"retrieval": {"embedder": {
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

  EXPECT_FALSE(parse_file(R"({"retrieval": {"embedder": {"dims": 768}}})").has_value());
}

TEST(RetrievalConfig, EmbedderValidationNamesTheBadKey) {
  auto c = parse_file(R"({"retrieval": {"embedder": {"base_url": "ftp://x", "dim": 768}}})");
  ASSERT_TRUE(c.has_value());
  auto v = validate(*c);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("retrieval.embedder.base_url"), std::string::npos) << v.error().message;

  c = parse_file(R"({"retrieval": {"embedder": {"dim": 0}}})");
  ASSERT_TRUE(c.has_value());
  v = validate(*c);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("retrieval.embedder.dim"), std::string::npos) << v.error().message;
}

TEST(RetrievalConfig, EmbedderEnvironmentOverridesTheFile) {
  auto c = parse_file(R"({"retrieval": {"embedder": {"base_url": "http://file:1", "dim": 64}}})");
  ASSERT_TRUE(c.has_value());
  ::setenv("RAGD_EMBED_BASE_URL", "http://env:2", 1);
  ::setenv("RAGD_EMBED_MODEL", "env-model", 1);
  ::setenv("RAGD_EMBED_DIM", "384", 1);
  auto applied = apply_env(*c);
  ::unsetenv("RAGD_EMBED_BASE_URL");
  ::unsetenv("RAGD_EMBED_MODEL");
  ::unsetenv("RAGD_EMBED_DIM");
  ASSERT_TRUE(applied.has_value()) << applied.error().message;
  EXPECT_EQ(c->retrieval.embedder.base_url, "http://env:2");
  EXPECT_EQ(c->retrieval.embedder.model, "env-model");
  EXPECT_EQ(c->retrieval.embedder.dim, 384);
}

TEST(ReplicationConfig, IsReadStrictlyUnderRetrievalAndCanBeSwitchedOffByEnv) {
  auto c = parse_file(
      R"({"retrieval": {"replication": {"enabled": true, "max_entries": 500, "apply_timeout_ms": 700, "batch": 8}}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->retrieval.replication.max_entries, 500);
  EXPECT_EQ(c->retrieval.replication.apply_timeout_ms, 700);
  EXPECT_EQ(c->retrieval.replication.batch, 8);
  EXPECT_TRUE(validate(*c));
  auto unknown = parse_file(R"({"retrieval": {"replication": {"stream": "x"}}})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("retrieval.replication.stream"), std::string::npos);
  c->retrieval.replication.batch = 0;
  EXPECT_FALSE(validate(*c));

  ::setenv("RAGD_REPLICATION", "off", 1);
  Parsed g;
  EXPECT_TRUE(apply_env(g));
  EXPECT_FALSE(g.retrieval.replication.enabled);
  ::setenv("RAGD_REPLICATION", "maybe", 1);
  EXPECT_FALSE(apply_env(g));
  ::unsetenv("RAGD_REPLICATION");
}

TEST(IndexConfig, IsReadFromTheRetrievalSectionAndChecked) {
  auto c = parse_file(R"({"retrieval": {"index": {"type": "hnsw", "hnsw_m": 16, "hnsw_ef_search": 128,
                                     "rebuild_deleted_fraction": 0.5, "ivf_nlist": 64, "ivf_nprobe": 8}}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->retrieval.index.type, "hnsw");
  EXPECT_EQ(c->retrieval.index.hnsw_m, 16);
  EXPECT_EQ(c->retrieval.index.hnsw_ef_search, 128);
  EXPECT_DOUBLE_EQ(c->retrieval.index.rebuild_deleted_fraction, 0.5);
  EXPECT_TRUE(validate(*c));
  c->retrieval.index.type = "annoy";
  auto bad = validate(*c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("retrieval.index.type"), std::string::npos);
  c->retrieval.index.type = "ivf";
  c->retrieval.index.ivf_nprobe = 65;
  EXPECT_FALSE(validate(*c));
  auto typo = parse_file(R"({"retrieval": {"index": {"kind": "flat"}}})");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("retrieval.index.kind"), std::string::npos);
}

TEST(RetrievalConfig, Bm25DocumentWeightIsReadAndChecked) {
  auto c = parse_file(R"({"retrieval": {"bm25_document_weight": 0.75}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_DOUBLE_EQ(c->retrieval.bm25_document_weight, 0.75);
  EXPECT_TRUE(validate(*c));
  c->retrieval.bm25_document_weight = -0.5;
  auto bad = validate(*c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("retrieval.bm25_document_weight"), std::string::npos);
  c->retrieval.bm25_document_weight = 101.0;
  EXPECT_FALSE(validate(*c));
}

}  // namespace
}  // namespace ragd
