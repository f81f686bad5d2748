// A coroutine-native Redis client on Asio sockets. hiredis is used only for the protocol
// (its reply reader and command formatter); it never touches a socket.
//
// Connection: one socket, pipelined: many coroutines may issue commands at once; requests
// are written in order and replies matched first-in first-out. If a caller is cancelled
// (or its timeout fires) while its command is in flight, the connection is closed, never
// reused, so a reply can never reach the wrong caller; all other waiters get an error.
// A closed connection reconnects on the next command, with backoff.
//
// Client: a small pool of Connections (round-robin) for ordinary commands. Blocking commands
// (XREAD/XREADGROUP with BLOCK) must use a Connection of their own.
//
// Thread-safety: every public member function may be called from any thread; each
// connection serialises its work on its own strand.
#pragma once

#include "ragd/redis/redis_config.hpp"
#include "ragd/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace ragd::redis {

struct Reply {
  enum class Kind { nil, integer, string, status, error, array };
  Kind kind = Kind::nil;
  long long integer = 0;
  std::string str;              // string, status and error replies
  std::vector<Reply> elements;  // array replies

  bool is_nil() const { return kind == Kind::nil; }
  bool is_error() const { return kind == Kind::error; }
  bool is_array() const { return kind == Kind::array; }
  // A string/status reply as text, an integer as its decimal form; nullopt otherwise.
  std::optional<std::string> as_string() const;
  std::optional<long long> as_integer() const;
};

using Command = std::vector<std::string>;

// Builds a Command from strings, string views, C strings and integers:
// `co_await client.command(make_command("PEXPIRE", key, ttl_ms))`. Besides being shorter, it
// sidesteps a GCC 12 bug that rejects a braced list written directly inside a co_await
// expression ("array used as initializer"); with GCC 12 build such lists in a local first.
template <class... Args>
Command make_command(const Args&... args) {
  Command cmd;
  cmd.reserve(sizeof...(Args));
  auto add = [&cmd](const auto& a) {
    using A = std::decay_t<decltype(a)>;
    if constexpr (std::is_integral_v<A> && !std::is_same_v<A, bool> && !std::is_same_v<A, char>) {
      cmd.push_back(std::to_string(a));
    } else {
      cmd.emplace_back(a);
    }
  };
  (add(args), ...);
  return cmd;
}

struct Endpoint {
  std::string host;         // empty for unix sockets
  int port = 6379;
  std::string unix_path;    // non-empty for unix:///path
  int db = 0;
  std::string password;     // redis://:password@host:port/db
  std::string username;     // redis://user:password@host (Redis 6 ACL); empty = default user
};

// Parses redis://[[user]:password@]host[:port][/db] and unix:///path[?db=N]; IPv6 hosts in
// brackets; the password may be percent-encoded. rediss:// (TLS) is not supported.
Result<Endpoint> parse_url(const std::string& url);

class Connection {
 public:
  Connection(boost::asio::any_io_executor ex, RedisConfig config);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one command and awaits its reply. A Redis error reply is a value (Reply::Kind::error),
  // not an Error; Errors are for transport: Errc::unavailable (cannot connect, connection
  // lost), Errc::deadline_exceeded (no reply within `timeout`, default command_timeout_ms),
  // Errc::cancelled.
  boost::asio::awaitable<Result<Reply>> command(
      Command cmd, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Sends several commands in one write; replies in the same order.
  boost::asio::awaitable<Result<std::vector<Reply>>> pipeline(
      std::vector<Command> cmds, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // True while a socket is open and was healthy at its last use.
  bool connected() const;
  // Closes the socket and fails every waiter with Errc::cancelled; later commands fail too.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

class Client {
 public:
  Client(boost::asio::any_io_executor ex, RedisConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  boost::asio::awaitable<Result<Reply>> command(
      Command cmd, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  boost::asio::awaitable<Result<std::vector<Reply>>> pipeline(
      std::vector<Command> cmds, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // A new dedicated connection with the same settings (for blocking reads).
  std::unique_ptr<Connection> dedicated_connection() const;

  bool connected() const;
  void close();
  const RedisConfig& config() const;

 private:
  boost::asio::any_io_executor ex_;
  RedisConfig config_;
  std::vector<std::unique_ptr<Connection>> pool_;
  mutable std::atomic<std::size_t> next_{0};
};

}  // namespace ragd::redis
