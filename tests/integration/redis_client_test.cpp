// The Redis client and connection against a real redis-server: every reply kind,
// pipelining, concurrency, timeouts, cancellation, restarts, AUTH/SELECT and Unix sockets.
#include "ragd/redis/client.hpp"
#include "ragd/core/completion_token.hpp"

#include "co_assert.hpp"
#include "test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <thread>

namespace ragd::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RedisServer;
using test::run_coro;
using test::eventually;
using test::sleep_for;

// Sends `cmd` on `conn` from a coroutine of its own, `after` from now, and stores the result
// in `out` (which must outlive it).
void spawn_command(asio::io_context& io, Connection& conn, Command cmd, std::optional<Result<Reply>>& out,
                   std::chrono::milliseconds after, std::optional<std::chrono::milliseconds> timeout = {}) {
  asio::co_spawn(
      io,
      [&conn, &out, cmd = std::move(cmd), after, timeout]() mutable -> asio::awaitable<void> {
        co_await sleep_for(after);
        out = co_await conn.command(std::move(cmd), timeout);
      },
      asio::detached);
}

TEST(RedisClient, HandlesEveryReplyKind) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Client client(io.get_executor(), test::redis_config(server.url(), 2));
    auto set = co_await client.command(make_command("SET", "greeting", "hello world"));
    CO_ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set->kind, Reply::Kind::status);
    EXPECT_EQ(set->str, "OK");

    auto get = co_await client.command(make_command("GET", "greeting"));
    CO_ASSERT_TRUE(get);
    EXPECT_EQ(get->kind, Reply::Kind::string);
    EXPECT_EQ(get->str, "hello world");

    auto binary = std::string("a\0b\r\nc", 6);
    CO_ASSERT_TRUE(co_await client.command(make_command("SET", "bin", binary)));
    auto got_binary = co_await client.command(make_command("GET", "bin"));
    CO_ASSERT_TRUE(got_binary);
    EXPECT_EQ(got_binary->str, binary);

    // Arguments of every size the encoder writes: empty, 1 MiB, and more than fit its
    // length prefix's small buffer or a handful of arguments.
    CO_ASSERT_TRUE(co_await client.command(make_command("SET", "empty", "")));
    auto got_empty = co_await client.command(make_command("GET", "empty"));
    CO_ASSERT_TRUE(got_empty);
    EXPECT_EQ(got_empty->kind, Reply::Kind::string);
    EXPECT_EQ(got_empty->str, "");
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
    CO_ASSERT_TRUE(co_await client.command(make_command("SET", "big", big)));
    auto got_big = co_await client.command(make_command("GET", "big"));
    CO_ASSERT_TRUE(got_big);
    EXPECT_EQ(got_big->str, big);
    Command rpush = {"RPUSH", "many"};
    for (int i = 0; i < 40; ++i) rpush.push_back("v" + std::to_string(i));
    auto pushed = co_await client.command(rpush);
    CO_ASSERT_TRUE(pushed);
    EXPECT_EQ(pushed->integer, 40);
    auto last = co_await client.command(make_command("LINDEX", "many", "39"));
    CO_ASSERT_TRUE(last);
    EXPECT_EQ(last->str, "v39");

    auto missing = co_await client.command(make_command("GET", "no-such-key"));
    CO_ASSERT_TRUE(missing);
    EXPECT_TRUE(missing->is_nil());

    auto incr = co_await client.command(make_command("INCRBY", "counter", "5"));
    CO_ASSERT_TRUE(incr);
    EXPECT_EQ(incr->kind, Reply::Kind::integer);
    EXPECT_EQ(incr->integer, 5);

    CO_ASSERT_TRUE(co_await client.command(make_command("RPUSH", "list", "a", "b", "c")));
    auto range = co_await client.command(make_command("LRANGE", "list", "0", "-1"));
    CO_ASSERT_TRUE(range);
    CO_ASSERT_TRUE(range->is_array());
    CO_ASSERT_EQ(range->elements.size(), 3u);
    EXPECT_EQ(range->elements[2].str, "c");

    auto empty = co_await client.command(make_command("LRANGE", "nothing", "0", "-1"));
    CO_ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->is_array());
    EXPECT_TRUE(empty->elements.empty());

    auto wrong = co_await client.command(make_command("INCR", "greeting"));
    CO_ASSERT_TRUE(wrong) << "a Redis error reply is a value, not a transport error";
    EXPECT_TRUE(wrong->is_error());
    EXPECT_NE(wrong->str.find("ERR"), std::string::npos);

    auto unknown = co_await client.command(make_command("NOSUCHCOMMAND"));
    CO_ASSERT_TRUE(unknown);
    EXPECT_TRUE(unknown->is_error());

    // The connection stays usable after error replies.
    auto after = co_await client.command(make_command("GET", "counter"));
    CO_ASSERT_TRUE(after);
    EXPECT_EQ(after->as_integer(), 5);
    EXPECT_TRUE(client.connected());
  });
}

TEST(RedisClient, PipelineReturnsRepliesInOrder) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Client client(io.get_executor(), test::redis_config(server.url(), 1));
    std::vector<Command> cmds = {
        {"SET", "p", "1"}, {"INCR", "p"}, {"GET", "p"}, {"HGET", "p", "x"}, {"GET", "none"}};
    auto r = co_await client.pipeline(cmds);
    CO_ASSERT_TRUE(r) << r.error().message;
    CO_ASSERT_EQ(r->size(), 5u);
    EXPECT_EQ((*r)[0].str, "OK");
    EXPECT_EQ((*r)[1].integer, 2);
    EXPECT_EQ((*r)[2].str, "2");
    EXPECT_TRUE((*r)[3].is_error());  // WRONGTYPE does not break the rest of the pipeline
    EXPECT_TRUE((*r)[4].is_nil());

    auto none = co_await client.pipeline(std::vector<Command>{});
    CO_ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
  });
}

TEST(RedisConnection, ThousandConcurrentCommandsEachGetTheirOwnReply) {
  RedisServer server;
  constexpr int kCount = 1000;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection conn(io.get_executor(), test::redis_config(server.url(), 1));
    std::vector<Command> preload;
    for (int i = 0; i < kCount; ++i) {
      preload.push_back({"SET", "key:" + std::to_string(i), "value:" + std::to_string(i)});
    }
    CO_ASSERT_TRUE(co_await conn.pipeline(preload));

    std::atomic<int> finished{0};
    std::atomic<int> correct{0};
    for (int i = 0; i < kCount; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            // Odd ones read a distinct value, even ones bump a distinct counter twice.
            if (i % 2) {
              auto r = co_await conn.command(make_command("GET", "key:" + std::to_string(i)));
              if (r && r->str == "value:" + std::to_string(i)) ++correct;
            } else {
              auto a = co_await conn.command(make_command("INCRBY", "ctr:" + std::to_string(i), std::to_string(i)));
              auto b = co_await conn.command(make_command("INCRBY", "ctr:" + std::to_string(i), std::to_string(i)));
              if (a && b && a->integer == i && b->integer == 2 * i) ++correct;
            }
            ++finished;
          },
          asio::detached);
    }
    EXPECT_TRUE(co_await eventually([&] { return finished == kCount; }, 30s));
    EXPECT_EQ(correct.load(), kCount);
    EXPECT_TRUE(conn.connected());
  });
}

TEST(RedisClient, SharedByCoroutinesOnSeveralThreads) {
  RedisServer server;
  constexpr int kCount = 2000;
  asio::io_context io;
  Client client(io.get_executor(), test::redis_config(server.url(), 2));
  std::atomic<int> finished{0};
  std::atomic<int> correct{0};
  for (int i = 0; i < kCount; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          const std::string key = "mt:" + std::to_string(i);
          auto set = co_await client.command(make_command("SET", key, i));
          auto get = co_await client.command(make_command("GET", key));
          if (set && get && get->as_integer() == i) ++correct;
          if (++finished == kCount) client.close();  // lets io.run() return
        },
        asio::detached);
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  EXPECT_EQ(finished.load(), kCount);
  EXPECT_EQ(correct.load(), kCount);
}

TEST(RedisConnection, TimeoutClosesConnectionAndNextCommandReconnects) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection conn(io.get_executor(), test::redis_config(server.url(), 1));
    CO_ASSERT_TRUE(co_await conn.command(make_command("SET", "k", "v")));

    // A command queued behind the one that times out must not receive its reply.
    std::optional<Result<Reply>> queued;
    spawn_command(io, conn, make_command("GET", "k"), queued, 20ms);
    auto slow = co_await conn.command(make_command("BLPOP", "empty-list", "2"), 200ms);
    CO_ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().code, Errc::deadline_exceeded);
    EXPECT_FALSE(conn.connected());

    EXPECT_TRUE(co_await eventually([&] { return queued.has_value(); }, 5s));
    CO_ASSERT_TRUE(queued.has_value());
    CO_ASSERT_FALSE(*queued);
    EXPECT_EQ(queued->error().code, Errc::unavailable);

    auto next = co_await conn.command(make_command("GET", "k"));
    CO_ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->str, "v");
    EXPECT_TRUE(conn.connected());
  });
}

TEST(RedisConnection, AShortDeadlineQueuedBehindALongOneStillFiresOnTime) {
  // One timer watches the connection's deadlines: a command with a short timeout queued
  // behind a blocking read with a long one must move it earlier, not wait for the read.
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection conn(io.get_executor(), test::redis_config(server.url(), 1));
    CO_ASSERT_TRUE(co_await conn.command(make_command("SET", "k", "v")));
    std::optional<Result<Reply>> blocked;
    spawn_command(io, conn, make_command("BLPOP", "empty-list", "8"), blocked, 0ms, 10s);
    // The BLPOP is on the wire: the server sees a client blocked in it.
    CO_ASSERT_TRUE(co_await eventually(
        [&] { return server.cli({"CLIENT", "LIST"}).find("cmd=blpop") != std::string::npos; }, 5s));
    const auto start = std::chrono::steady_clock::now();
    auto quick = co_await conn.command(make_command("GET", "k"), 200ms);
    const auto waited = std::chrono::steady_clock::now() - start;
    CO_ASSERT_FALSE(quick);
    EXPECT_EQ(quick.error().code, Errc::deadline_exceeded);
    EXPECT_LT(waited, 3s) << "the short deadline waited for the blocking read";
    // Its timeout reset the connection, so the blocking read fails too, long before 8 s.
    EXPECT_TRUE(co_await eventually([&] { return blocked.has_value(); }, 3s));
    CO_ASSERT_TRUE(blocked.has_value());
    CO_ASSERT_FALSE(*blocked);
    EXPECT_EQ(blocked->error().code, Errc::unavailable);
    auto next = co_await conn.command(make_command("GET", "k"));
    CO_ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->str, "v");
  });
}

TEST(RedisConnection, CancelledCommandNeverDeliversItsReplyToAnotherCaller) {
  using namespace asio::experimental::awaitable_operators;
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection conn(io.get_executor(), test::redis_config(server.url(), 1));
    CO_ASSERT_TRUE(co_await conn.command(make_command("SET", "mine", "mine-value")));

    std::optional<Result<Reply>> other;
    spawn_command(io, conn, make_command("GET", "mine"), other, 20ms);

    asio::steady_timer timer(io, 150ms);
    auto raced = co_await (conn.command(make_command("BLPOP", "jobs", "5")) ||
                           timer.async_wait(kNoThrow));
    EXPECT_EQ(raced.index(), 1u) << "the timer wins the race";

    // Now the value the cancelled BLPOP waited for appears.
    EXPECT_EQ(server.cli({"RPUSH", "jobs", "their-value"}), "1");

    EXPECT_TRUE(co_await eventually([&] { return other.has_value(); }, 5s));
    CO_ASSERT_TRUE(other.has_value());
    if (*other) {
      EXPECT_EQ((*other)->str, "mine-value");  // never "their-value"
    }

    for (int i = 0; i < 5; ++i) {
      auto r = co_await conn.command(make_command("GET", "mine"));
      CO_ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(r->str, "mine-value");
    }
    // The abandoned BLPOP never consumed the element: the server saw the connection close.
    auto len = co_await conn.command(make_command("LLEN", "jobs"));
    CO_ASSERT_TRUE(len);
    EXPECT_EQ(len->integer, 1);
  });
}

TEST(RedisClient, FailsFastWhileServerIsDownAndRecoversAfterRestart) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Client client(io.get_executor(), test::redis_config(server.url(), 2));
    CO_ASSERT_TRUE(co_await client.command(make_command("SET", "k", "1")));

    server.stop();
    for (int i = 0; i < 20; ++i) {
      auto start = std::chrono::steady_clock::now();
      auto r = co_await client.command(make_command("GET", "k"));
      auto took = std::chrono::steady_clock::now() - start;
      CO_ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().message;
      // Far below the 5 s command timeout: a refused connection is not waited out.
      EXPECT_LT(took, 2s);
    }

    server.start();
    bool recovered = false;
    for (int i = 0; i < 200 && !recovered; ++i) {
      auto r = co_await client.command(make_command("PING"));
      recovered = r && r->str == "PONG";
      if (!recovered) co_await sleep_for(50ms);
    }
    EXPECT_TRUE(recovered);
    // Every pooled connection is usable again.
    for (int i = 0; i < 4; ++i) {
      auto r = co_await client.command(make_command("PING"));
      for (int j = 0; j < 100 && !r; ++j) {
        co_await sleep_for(50ms);
        r = co_await client.command(make_command("PING"));
      }
      EXPECT_TRUE(r);
    }
  });
}

TEST(RedisClient, UnreachableServerIsUnavailable) {
  int port = test::free_port();  // nothing listens there
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Client client(io.get_executor(), test::redis_config("redis://127.0.0.1:" + std::to_string(port), 1));
    auto r = co_await client.command(make_command("PING"));
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unavailable);
    EXPECT_FALSE(client.connected());
  });
}

TEST(RedisClient, AuthenticatesAndSelectsDatabaseFromUrl) {
  // The password is set after start-up: RedisServer checks readiness with an unauthenticated
  // PING.
  RedisServer server;
  ASSERT_EQ(server.cli({"ACL", "SETUSER", "app", "on", ">app-pw", "~*", "+@all"}), "OK");
  ASSERT_EQ(server.cli({"CONFIG", "SET", "requirepass", "pa ss"}), "OK");
  const std::string base = "redis://:pa%20ss@127.0.0.1:" + std::to_string(server.port());
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Client db3(io.get_executor(), test::redis_config(base + "/3", 1));
    Client db0(io.get_executor(), test::redis_config(base, 1));
    CO_ASSERT_TRUE(co_await db3.command(make_command("SET", "where", "three")));
    auto in3 = co_await db3.command(make_command("GET", "where"));
    CO_ASSERT_TRUE(in3);
    EXPECT_EQ(in3->str, "three");
    auto in0 = co_await db0.command(make_command("GET", "where"));
    CO_ASSERT_TRUE(in0) << in0.error().message;
    EXPECT_TRUE(in0->is_nil());

    Client acl_user(io.get_executor(),
                    test::redis_config("redis://app:app-pw@127.0.0.1:" + std::to_string(server.port()) + "/3", 1));
    auto as_app = co_await acl_user.command(make_command("GET", "where"));
    CO_ASSERT_TRUE(as_app) << as_app.error().message;
    EXPECT_EQ(as_app->str, "three");

    Client wrong(io.get_executor(),
                 test::redis_config("redis://:nope@127.0.0.1:" + std::to_string(server.port()), 1));
    auto denied = co_await wrong.command(make_command("GET", "where"));
    CO_ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, Errc::unavailable);
  });
}

TEST(RedisConnection, CommandsQueuedWhileConnectingGoAfterAuthAndSelect) {
  // Everything is queued before the connect completes, so AUTH and SELECT must still go
  // first on the wire, and each command, written in one gathered write, gets its own reply.
  RedisServer server;
  ASSERT_EQ(server.cli({"CONFIG", "SET", "requirepass", "pw"}), "OK");
  constexpr int kCount = 200;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection conn(io.get_executor(),
                    test::redis_config("redis://:pw@127.0.0.1:" + std::to_string(server.port()) + "/5", 1));
    std::atomic<int> finished{0};
    std::atomic<int> correct{0};
    for (int i = 0; i < kCount; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            // Arguments of very different sizes, so the write gathers unequal buffers.
            const std::string value(static_cast<std::size_t>(i) * 97 % 5000, static_cast<char>('a' + i % 26));
            auto r = co_await conn.command(make_command("SET", "q:" + std::to_string(i), value, "GET"));
            if (r && r->is_nil()) ++correct;
            ++finished;
          },
          asio::detached);
    }
    EXPECT_TRUE(co_await eventually([&] { return finished == kCount; }, 30s));
    EXPECT_EQ(correct.load(), kCount);
    auto size = co_await conn.command(make_command("DBSIZE"));
    CO_ASSERT_TRUE(size);
    EXPECT_EQ(size->integer, kCount);
    auto one = co_await conn.command(make_command("GET", "q:7"));
    CO_ASSERT_TRUE(one);
    EXPECT_EQ(one->str, std::string(7 * 97, 'h'));
  });
  EXPECT_EQ(server.cli({"-a", "pw", "--no-auth-warning", "-n", "0", "DBSIZE"}), "0");
}

TEST(RedisClient, ConnectsOverUnixSocket) {
  test::TempDir dir;
  const std::string sock = dir.path() + "/redis.sock";
  RedisServer server({"--unixsocket", sock, "--unixsocketperm", "700"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Client client(io.get_executor(), test::redis_config("unix://" + sock + "?db=1", 1));
    CO_ASSERT_TRUE(co_await client.command(make_command("SET", "u", "x")));
    auto r = co_await client.command(make_command("GET", "u"));
    CO_ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->str, "x");
  });
  EXPECT_EQ(server.cli({"-n", "1", "GET", "u"}), "x");
}

TEST(RedisConnection, CloseFailsLaterCommands) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    auto conn = std::make_unique<Connection>(io.get_executor(), test::redis_config(server.url(), 1));
    CO_ASSERT_TRUE(co_await conn->command(make_command("PING")));
    conn->close();
    co_await sleep_for(10ms);
    auto r = co_await conn->command(make_command("PING"));
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::cancelled);
    EXPECT_FALSE(conn->connected());
  });
}

TEST(RedisConnection, ACancelledOrdinaryCommandKeepsTheConnectionForEveryoneElse) {
  using namespace asio::experimental::awaitable_operators;
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection conn(io.get_executor(), test::redis_config(server.url(), 1));
    CO_ASSERT_TRUE(co_await conn.command(make_command("SET", "k", "v")));
    auto clients_before = server.cli({"INFO", "stats"});
    // A pile of commands whose callers all give up at once, mixed with callers that wait.
    int cancelled = 0, answered = 0, wrong = 0;
    for (int round = 0; round < 50; ++round) {
      asio::steady_timer now(io, 0ms);
      auto raced = co_await (conn.command(make_command("GET", "k")) ||
                             now.async_wait(kNoThrow));
      if (raced.index() == 1) ++cancelled;
      auto r = co_await conn.command(make_command("INCR", "counter"));
      if (r && r->kind == Reply::Kind::integer) {
        ++answered;
        if (r->integer != answered) ++wrong;
      }
    }
    EXPECT_EQ(answered, 50);
    EXPECT_EQ(wrong, 0) << "a dropped reply reached another caller";
    EXPECT_TRUE(conn.connected());
    // One connection served all of it: cancellations did not reset it.
    auto info = server.cli({"INFO", "stats"});
    auto field = [](const std::string& s) {
      auto p = s.find("total_connections_received:");
      return p == std::string::npos ? -1 : std::stoi(s.substr(p + 27));
    };
    EXPECT_LE(field(info) - field(clients_before), 2) << "cancelled=" << cancelled;
  });
}

// An object owns a dedicated connection, and a coroutine that owns the object waits on a
// blocking command (as the gateway's reply reader does). Destroying the io_context with the
// command on the server frees the coroutine, the object and the connection; before, the
// connection's queue kept the coroutine's handler, the coroutine the object and the object
// the connection: a cycle that LeakSanitizer reported when ragd exited with a query in flight.
TEST(RedisConnection, AnIoContextDestroyedWithABlockingCommandInFlightFreesItsCallerAndTheConnection) {
  RedisServer server;
  struct Caller {
    explicit Caller(asio::any_io_executor ex, RedisConfig c) : conn(std::move(ex), std::move(c)) {}
    Connection conn;
  };
  std::weak_ptr<Caller> watch;
  bool resumed = false;
  {
    asio::io_context io;
    auto caller = std::make_shared<Caller>(io.get_executor(), test::redis_config(server.url(), 1));
    watch = caller;
    auto wait = [](std::shared_ptr<Caller> self, bool& resumed) -> asio::awaitable<void> {
      co_await self->conn.command(make_command("BLPOP", "nothing-ever-comes", "0"), 60s);
      resumed = true;
    };
    asio::co_spawn(io, wait(std::move(caller), resumed), asio::detached);
    const auto until = std::chrono::steady_clock::now() + 20s;
    auto blocked = [&] { return server.cli({"INFO", "clients"}).find("blocked_clients:1") != std::string::npos; };
    while (!blocked() && std::chrono::steady_clock::now() < until) io.run_for(20ms);
    ASSERT_TRUE(blocked()) << server.cli({"INFO", "clients"});
    ASSERT_FALSE(watch.expired());
  }
  EXPECT_FALSE(resumed);
  EXPECT_TRUE(watch.expired()) << "the caller, its coroutine and its connection outlived their io_context";
}

}  // namespace
}  // namespace ragd::redis
