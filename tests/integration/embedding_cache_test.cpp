// CachedEmbedder in front of the fake model server's embeddings: L1 hits, vectors shared
// by replicas through a real redis-server, one model's vectors unseen by another, and
// Redis down read as a miss.
#include "ragd/retrieval/embedding_cache.hpp"

#include "fake_llm.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/retrieval/remote_embedder.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace ragd::retrieval {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeLlm;

EmbedderConfig remote_config(const FakeLlm& fake) {
  EmbedderConfig cfg;
  cfg.base_url = fake.base_url();
  cfg.model = "test-embed";
  cfg.dim = 16;
  cfg.timeout_ms = 5000;
  return cfg;
}

std::uint64_t lookups(metrics::Registry& registry, const std::string& result) {
  return registry.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({"embedding", result}).value();
}

TEST(CachedEmbedder, ARepeatedQuerySkipsTheEmbedderThroughL1) {
  FakeLlm fake({"--dim", "16"});
  metrics::Registry registry;
  EmbeddingCacheConfig cache_cfg;
  auto cfg = remote_config(fake);
  auto ok = test::run_coro<bool>([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto remote = std::make_shared<RemoteEmbedder>(io.get_executor(), cfg, "");
    CachedEmbedder cached(remote, cache_cfg, nullptr, registry);
    auto first = co_await cached.embed_query("What is ragd?");
    auto second = co_await cached.embed_query("  What is\n ragd? ");
    co_return first && second && *first == *second && first->size() == 16u;
  });
  EXPECT_TRUE(ok);
  EXPECT_EQ(fake.stat("embedding_calls"), 1);
  EXPECT_EQ(lookups(registry, "miss"), 1u);
  EXPECT_EQ(lookups(registry, "l1_hit"), 1u);
}

TEST(CachedEmbedder, ReplicasShareVectorsThroughRedis) {
  FakeLlm fake({"--dim", "16"});
  test::RedisServer redis_server;
  metrics::Registry registry_a, registry_b;
  EmbeddingCacheConfig cache_cfg;
  RedisConfig redis_cfg = test::redis_config(redis_server);
  auto cfg = remote_config(fake);
  auto ok = test::run_coro<bool>([&](asio::io_context& io) -> asio::awaitable<bool> {
    redis::Client redis(io.get_executor(), redis_cfg);
    auto remote = std::make_shared<RemoteEmbedder>(io.get_executor(), cfg, "");
    // Two gateways: separate L1 tiers, one Redis.
    CachedEmbedder a(remote, cache_cfg, &redis, registry_a);
    CachedEmbedder b(remote, cache_cfg, &redis, registry_b);
    auto first = co_await a.embed_query("Which tides are highest?");
    auto second = co_await b.embed_query("Which tides are highest?");
    co_return first && second && *first == *second;
  });
  EXPECT_TRUE(ok);
  EXPECT_EQ(fake.stat("embedding_calls"), 1);
  EXPECT_EQ(lookups(registry_a, "miss"), 1u);
  EXPECT_EQ(lookups(registry_b, "l2_hit"), 1u);

  // One key, under the prefix, naming the embedder, with a TTL.
  const std::string keys = redis_server.cli({"KEYS", "ragd:cache:embedding:*"});
  EXPECT_NE(keys.find("ragd:cache:embedding:openai/test-embed/16:"), std::string::npos) << keys;
  EXPECT_EQ(keys.find('\n'), std::string::npos) << keys;
  const long long ttl = std::stoll(redis_server.cli({"PTTL", keys}));
  EXPECT_GT(ttl, 0);
}

TEST(CachedEmbedder, AnotherModelDoesNotSeeTheVectorsOfTheFirst) {
  FakeLlm fake({"--dim", "16"});
  test::RedisServer redis_server;
  metrics::Registry registry;
  EmbeddingCacheConfig cache_cfg;
  RedisConfig redis_cfg = test::redis_config(redis_server);
  auto cfg_a = remote_config(fake);
  auto cfg_b = cfg_a;
  cfg_b.model = "other-embed";
  auto ok = test::run_coro<bool>([&](asio::io_context& io) -> asio::awaitable<bool> {
    redis::Client redis(io.get_executor(), redis_cfg);
    CachedEmbedder a(std::make_shared<RemoteEmbedder>(io.get_executor(), cfg_a, ""), cache_cfg, &redis, registry);
    CachedEmbedder b(std::make_shared<RemoteEmbedder>(io.get_executor(), cfg_b, ""), cache_cfg, &redis, registry);
    auto first = co_await a.embed_query("same words");
    auto second = co_await b.embed_query("same words");
    co_return first.has_value() && second.has_value();
  });
  EXPECT_TRUE(ok);
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
}

TEST(CachedEmbedder, RedisDownIsAMissNotAnError) {
  FakeLlm fake({"--dim", "16"});
  metrics::Registry registry;
  EmbeddingCacheConfig cache_cfg;
  RedisConfig redis_cfg = test::redis_config("redis://127.0.0.1:" + std::to_string(test::free_port()));
  redis_cfg.connect_timeout_ms = 200;
  auto cfg = remote_config(fake);
  auto ok = test::run_coro<bool>([&](asio::io_context& io) -> asio::awaitable<bool> {
    redis::Client redis(io.get_executor(), redis_cfg);
    CachedEmbedder cached(std::make_shared<RemoteEmbedder>(io.get_executor(), cfg, ""), cache_cfg, &redis,
                          registry);
    auto v = co_await cached.embed_query("anything");
    co_return v.has_value();
  });
  EXPECT_TRUE(ok);
  EXPECT_GE(registry.counter("ragd_cache_l2_errors_total", "", {"cache"}).with({"embedding"}).value(), 1u);
}
}  // namespace
}  // namespace ragd::retrieval
