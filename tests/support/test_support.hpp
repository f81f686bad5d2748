// Helpers shared by the tests: real processes (redis-server, ragd, ragd-worker, the fake
// LLM) on free loopback ports, always cleaned up; a synchronous loopback HTTP client; and
// run_coro(), which runs one coroutine to completion on a private io_context so a test
// body reads like straight-line code.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ragd::test {

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
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void stop();  // SIGTERM, wait up to 5 s, then SIGKILL
  std::string log() const;

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::string log_file_;
};

// A real redis-server on a free loopback port with its data in a temporary directory.
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

// Runs a coroutine to completion on a fresh io_context; rethrows its exception.
template <class T>
T run_coro(std::function<boost::asio::awaitable<T>(boost::asio::io_context&)> make) {
  boost::asio::io_context io;
  auto fut = boost::asio::co_spawn(io, make(io), boost::asio::use_future);
  io.run();
  return fut.get();
}

}  // namespace ragd::test
