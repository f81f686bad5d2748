#include "test_support.hpp"

#include "fake_llm.hpp"
#include "ragd/net/blocking_http.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ragd::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

int free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string bin_path(const std::string& name) { return std::string(RAGD_BIN_DIR) + "/" + name; }

std::string source_path(const std::string& relative) {
  return std::string(RAGD_SOURCE_DIR) + "/" + relative;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ragd-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 std::string log_file)
    : name_(std::filesystem::path(argv.at(0)).filename().string()), log_file_(std::move(log_file)) {
  std::error_code size_ec;
  if (!log_file_.empty()) {
    auto size = std::filesystem::file_size(log_file_, size_ec);
    if (!size_ec) log_start_ = static_cast<std::size_t>(size);
  }
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    int fd = open(log_file_.empty() ? "/dev/null" : log_file_.c_str(),
                  O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  stop();
  check_exit();
}

void Process::check_exit() {
  if (checked_ || !check_exit_ || pid_ <= 0) return;
  checked_ = true;
  if (status_ == 0) return;
  std::string tail = log();
  if (tail.size() > 8000) tail = "..." + tail.substr(tail.size() - 8000);
  ADD_FAILURE() << name_ << " (pid " << pid_ << ") did not exit cleanly: "
                << (status_ ? "status " + std::to_string(*status_) : std::string("still running"))
                << (status_ && *status_ > 128 ? " (signal " + std::to_string(*status_ - 128) + ")" : "")
                << "\n---- " << name_ << " log (end) ----\n" << tail;
}

bool Process::alive() {
  if (status_) return false;
  int st = 0;
  int r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

void Process::signal(int sig) {
  if (sig == SIGKILL) check_exit_ = false;
  if (alive()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto status = wait_for_exit(timeout);
  if (status) checked_ = true;  // the test has the status and judges it
  return status;
}

std::optional<int> Process::wait_for_exit(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (alive()) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

std::optional<int> Process::stop() {
  if (pid_ <= 0 || !alive()) return status_;
  ::kill(pid_, SIGTERM);
  if (!wait_for_exit(kStopGrace)) {
    ::kill(pid_, SIGKILL);
    wait_for_exit(std::chrono::seconds(5));
  }
  return status_;
}

std::string Process::log() const {
  if (log_file_.empty()) return {};
  std::ifstream in(log_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Process::listening_port(std::chrono::milliseconds timeout) {
  static const std::regex kListening(R"(listening on \[?[0-9a-fA-F.:]*\]?:([0-9]+))");
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string text = log();
    if (text.size() >= log_start_) text.erase(0, log_start_);
    std::smatch m;
    if (std::regex_search(text, m, kListening)) return std::stoi(m[1].str());
    if (!alive()) throw std::runtime_error(name_ + " exited before listening:\n" + text);
    if (std::chrono::steady_clock::now() >= until) {
      throw std::runtime_error(name_ + " did not report a listening port:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : port_(free_port()), extra_args_(std::move(extra_args)) {
  start();
}

RedisServer::~RedisServer() { stop(); }

void RedisServer::start() {
  std::vector<std::string> argv = {"redis-server", "--port", std::to_string(port_), "--bind",
                                   "127.0.0.1", "--dir", dir_.path(), "--save", "",
                                   "--appendonly", "no", "--protected-mode", "no"};
  for (auto& a : extra_args_) argv.push_back(a);
  // Later arguments win in redis-server, so extra_args can turn AOF on.
  proc_.emplace(argv, std::map<std::string, std::string>{}, dir_.path() + "/redis.log");
  bool up = wait_until([&] { return !proc_->alive() || cli({"PING"}) == "PONG"; }, std::chrono::seconds(10));
  if (up && proc_->alive()) {
    started_ = true;
    return;
  }
  const std::string log = proc_->log();
  // Another process took the port between free_port() and the bind: try another (a
  // restart keeps its port, which nobody else had reason to take).
  if (!started_ && !proc_->alive() && log.find("Address already in use") != std::string::npos &&
      ++start_attempts_ < 5) {
    proc_->expect_unclean_exit();
    proc_.reset();
    port_ = free_port();
    start();
    return;
  }
  throw std::runtime_error("redis-server did not start: " + log);
}

void RedisServer::stop() {
  if (proc_) {
    proc_->stop();
    proc_.reset();
  }
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::string cmd = "redis-cli -h 127.0.0.1 -p " + std::to_string(port_);
  for (const auto& a : args) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " " + q + "'";
  }
  cmd += " 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

HttpResult http_request(int port, const std::string& method, const std::string& target,
                        const std::string& body, const std::map<std::string, std::string>& headers,
                        std::chrono::milliseconds timeout) {
  net::BlockingRequest req;
  req.port = std::to_string(port);
  req.method = method;
  req.target = target;
  req.body = body;
  req.headers.assign(headers.begin(), headers.end());
  req.timeout = timeout;
  HttpResult out;
  auto r = net::blocking_request(req);
  if (!r) {
    out.body = r.error().message;
    return out;
  }
  out.status = r->status;
  out.body = std::move(r->body);
  for (auto& [name, value] : r->headers) out.headers[name] = std::move(value);
  return out;
}

CommandResult run_command(const std::string& cmd, bool stdout_only) {
  CommandResult r;
  FILE* p = popen((cmd + (stdout_only ? " 2>/dev/null" : " 2>&1")).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

RedisConfig redis_config(const std::string& url, int pool_size) {
  RedisConfig c;
  c.url = url;
  c.pool_size = pool_size;
  c.connect_timeout_ms = 2000;
  c.command_timeout_ms = 5000;
  return c;
}

RedisConfig redis_config(const RedisServer& server) { return redis_config(server.url()); }

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

FakeLlm::FakeLlm(std::vector<std::string> args) {
  std::vector<std::string> argv = {bin_path("fake-llm"), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  proc_.emplace(argv, std::map<std::string, std::string>{}, dir_.path() + "/fake-llm.log");
  port_ = proc_->listening_port();
  bool up = wait_until(
      [&] { return http_request(port_, "GET", "/healthz", {}, {}, std::chrono::seconds(1)).status == 200; },
      std::chrono::seconds(10));
  if (!up) throw std::runtime_error("fake-llm did not start: " + proc_->log());
}

nlohmann::json FakeLlm::stats() const {
  auto r = http_request(port_, "GET", "/stats", {}, {}, std::chrono::seconds(5));
  if (r.status != 200) throw std::runtime_error("fake-llm GET /stats: " + std::to_string(r.status) + " " + r.body);
  return nlohmann::json::parse(r.body);
}

}  // namespace ragd::test
