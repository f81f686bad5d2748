// SessionStore with a real Redis: turns kept, trimmed and shared by replicas, the mirror
// followed without a read when nobody else appended, and read again when someone did.
#include "ragd/orchestrator/session_store.hpp"

#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::orchestrator;
namespace asio = boost::asio;

namespace {

std::uint64_t lookups(metrics::Registry& r, std::string_view result) {
  return r.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({"session", result}).value();
}

std::vector<std::string> answers(const Result<std::vector<Turn>>& turns) {
  std::vector<std::string> out;
  if (turns) {
    for (const auto& t : *turns) out.push_back(t.answer);
  }
  return out;
}

}  // namespace

TEST(SessionStore, KeepsTheLastTurnsAndFollowsItsMirrorWithoutReadingTheList) {
  test::RedisServer server;
  RedisConfig rc;
  rc.url = server.url();
  metrics::Registry registry;
  SessionStoreConfig config;
  config.turns = 2;
  test::run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), rc);
    SessionStore store(redis, config, registry);
    auto empty = co_await store.load("t", "s1");  // a miss: reads the list
    EXPECT_TRUE(answers(empty).empty());
    co_await store.append("t", "s1", "q1", "a1");
    co_await store.append("t", "s1", "q2", "a2");
    co_await store.append("t", "s1", "q3", "a3");
    auto last_two = co_await store.load("t", "s1");
    EXPECT_EQ(answers(last_two), (std::vector<std::string>{"a2", "a3"}));
    redis.close();
  });
  EXPECT_EQ(lookups(registry, "miss"), 1u);
  EXPECT_EQ(lookups(registry, "l1_hit"), 1u);
  EXPECT_EQ(server.cli({"LLEN", SessionStore::key("ragd:", "t", "s1")}), std::string("2"));
  EXPECT_EQ(server.cli({"GET", SessionStore::key("ragd:", "t", "s1") + ":n"}), std::string("3"));
  EXPECT_GT(std::stoll(server.cli({"PTTL", SessionStore::key("ragd:", "t", "s1")})), 0);
}

TEST(SessionStore, AReplicaSeesAnotherReplicasAppend) {
  test::RedisServer server;
  RedisConfig rc;
  rc.url = server.url();
  metrics::Registry registry_a, registry_b;
  test::run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), rc);
    SessionStore a(redis, SessionStoreConfig{}, registry_a);
    SessionStore b(redis, SessionStoreConfig{}, registry_b);
    co_await a.append("t", "s", "q1", "a1");
    auto one = co_await b.load("t", "s");
    EXPECT_EQ(answers(one), std::vector<std::string>{"a1"});
    co_await a.append("t", "s", "q2", "a2");
    // b's mirror holds one turn at count 1; the count is 2 now, so b reads the list again.
    auto two = co_await b.load("t", "s");
    EXPECT_EQ(answers(two), (std::vector<std::string>{"a1", "a2"}));
    redis.close();
  });
  EXPECT_EQ(lookups(registry_b, "miss"), 2u);
  EXPECT_EQ(lookups(registry_b, "l1_hit"), 0u);
}

TEST(SessionStore, OneSessionIdInTwoTenantsIsTwoSessionsInRedisAndInTheMirror) {
  test::RedisServer server;
  RedisConfig rc;
  rc.url = server.url();
  metrics::Registry registry;
  test::run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    redis::Client redis(io.get_executor(), rc);
    SessionStore store(redis, SessionStoreConfig{}, registry);
    co_await store.append("a", "s", "qa", "secret of a");
    auto a = co_await store.load("a", "s");  // now mirrored for a
    EXPECT_EQ(answers(a), std::vector<std::string>{"secret of a"});
    auto b = co_await store.load("b", "s");
    EXPECT_TRUE(b);
    EXPECT_TRUE(answers(b).empty());
    co_await store.append("b", "s", "qb", "answer for b");
    auto b2 = co_await store.load("b", "s");
    EXPECT_EQ(answers(b2), std::vector<std::string>{"answer for b"});
    redis.close();
  });
  EXPECT_EQ(server.cli({"LLEN", "ragd:t:a:session:{s}"}), std::string("1"));
  EXPECT_EQ(server.cli({"LLEN", "ragd:t:b:session:{s}"}), std::string("1"));
  EXPECT_EQ(server.cli({"EXISTS", "ragd:session:{s}"}), std::string("0"));
}
