// Helpers shared by the tests: real processes (redis-server, ragd, ragd-worker, the fake
// LLM; fake_llm.hpp) on loopback ports, always cleaned up and checked to exit cleanly; the
// Redis settings for a test server; a synchronous loopback HTTP client; and run_coro(),
// which runs one coroutine to completion on a private io_context so a test body reads like
// straight-line code. Not thread-safe: use from the test's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "ragd/redis/redis_config.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ragd::test {

// A loopback port that was free a moment ago (bound and released): for an address nothing
// listens on, and for redis-server, which cannot report a port it chose (RedisServer retries
// with another when it loses the race). Servers of our own listen on port 0 and report the
// port they bound (Process::listening_port()).
int free_port();

// Directory of the built binaries (ragd, ragd-worker, ragctl, fake-llm).
std::string bin_path(const std::string& name);

// The source tree's root, for config/ and sample files.
std::string source_path(const std::string& relative);

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process; SIGTERM then SIGKILL on destruction. Its stdout and stderr go to
// `log_file` (or are discarded when empty).
//
// Teardown checks the exit: unless the test killed it with SIGKILL, took its status with
// wait(), or said otherwise with expect_unclean_exit(), a process must exit with status 0,
// on its own or within kStopGrace of SIGTERM; anything else (a crash, a sanitizer's report,
// a hang) fails the running test with the end of the process's log.
class Process {
 public:
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
          std::string log_file = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  bool alive();
  void signal(int sig);
  // Waits for exit; returns the exit status (128+signal when killed), or nullopt on timeout.
  // A status returned here is the test's to check: teardown does not check it again.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to kStopGrace, then SIGKILL; returns the exit status (as wait()).
  std::optional<int> stop();
  // The test expects this process to end badly (a crash it provokes): teardown does not
  // check its status.
  void expect_unclean_exit() { check_exit_ = false; }
  std::string log() const;
  // The port of the process's "listening on HOST:PORT" log line (ragd, fake-llm), written
  // after this Process started; waits for it. Throws when the process exits first or
  // `timeout` passes.
  int listening_port(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  static constexpr std::chrono::seconds kStopGrace{20};

 private:
  void check_exit();
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);

  std::string name_;
  int pid_ = -1;
  std::optional<int> status_;
  std::string log_file_;
  std::size_t log_start_ = 0;  // the log's size when this process started (logs may be shared)
  bool check_exit_ = true;
  bool checked_ = false;
};

// A real redis-server on a free loopback port with its data in a temporary directory.
// A restart keeps the port.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_.path(); }
  // Sends one command through redis-cli and returns its output (trimmed).
  std::string cli(const std::vector<std::string>& args) const;
  void stop();
  void start();

 private:
  TempDir dir_;
  int port_;
  int start_attempts_ = 0;
  bool started_ = false;
  std::vector<std::string> extra_args_;
  std::optional<Process> proc_;
};

struct HttpResult {
  int status = 0;  // 0 = connection failed
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

HttpResult http_request(int port, const std::string& method, const std::string& target,
                        const std::string& body = {},
                        const std::map<std::string, std::string>& headers = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A shell command's exit code (-1 when it did not exit) and its stdout, with its stderr
// too unless `stdout_only`.
struct CommandResult {
  int code = -1;
  std::string output;
};
CommandResult run_command(const std::string& cmd, bool stdout_only = false);

// Polls `pred` every 20 ms until it returns true or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Runs `make(io)` to completion on a fresh io_context and returns its value, or rethrows its
// exception; then runs for at most a few seconds more what other threads still post to the
// context (a pool's completions). A coroutine that has not finished within `limit` throws
// std::runtime_error, so a hang fails its test instead of the whole run.
//   auto n = run_coro<int>([&](asio::io_context& io) -> asio::awaitable<int> { ... });
template <class T, class Make>
T run_coro(Make make, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  boost::asio::io_context io;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
  std::exception_ptr error;
  bool done = false;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, make(io), [&](std::exception_ptr e) {
      error = e;
      result.emplace(true);
      done = true;
    });
  } else {
    boost::asio::co_spawn(io, make(io), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) result.emplace(std::move(value));
      done = true;
    });
  }
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < until) {
    io.run_one_for(std::chrono::milliseconds(50));
    if (io.stopped()) io.restart();
  }
  const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (done && !io.stopped() && std::chrono::steady_clock::now() < drain_until) {
    io.run_for(std::chrono::milliseconds(10));
  }
  if (!done) {
    throw std::runtime_error("run_coro: the coroutine did not finish within " +
                             std::to_string(limit.count()) + " ms");
  }
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// The Redis settings the tests use: `url` (or the server's), two connections unless said
// otherwise, and timeouts long enough for a loaded machine (tests that need others change
// the fields).
RedisConfig redis_config(const std::string& url, int pool_size = 2);
RedisConfig redis_config(const RedisServer& server);

}  // namespace ragd::test
