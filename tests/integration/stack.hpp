// A whole ragd deployment on loopback for integration tests: a real redis-server, the
// ragd gateway and ragd-worker processes (and optionally the fake LLM), each on a free
// port, stopped when the Stack is destroyed, even when a test fails.
#pragma once

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <string>

namespace ragd::test {

struct StackOptions {
  nlohmann::json gateway_config = nlohmann::json::object();  // merged over the defaults
  std::map<std::string, std::string> gateway_env;            // e.g. RAGD_EMBED_BASE_URL
  bool start_worker = true;
  std::map<std::string, std::string> worker_env;
  std::string worker_binary = "ragd-worker";  // or "ragd-worker-failpoints" (test builds only)
  std::vector<std::string> worker_args;
  int worker_concurrency = 64;
  std::vector<std::string> redis_args;  // e.g. {"--appendonly", "yes"}
};

class Stack {
 public:
  explicit Stack(StackOptions opts = {}) : opts_(std::move(opts)), redis_(opts_.redis_args) {
    port_ = free_port();
    nlohmann::json cfg = {
        {"server", {{"listen", "127.0.0.1:" + std::to_string(port_)}, {"threads", 2}}},
        {"redis", {{"url", redis_.url()}}},
        {"queue", {{"heartbeat_interval_ms", 200}, {"worker_stale_ms", 1500}}},
        {"log", {{"level", "info"}}},
    };
    cfg.merge_patch(opts_.gateway_config);
    config_path_ = dir_.path() + "/ragd.json";
    std::ofstream(config_path_) << cfg.dump(2);
    gateway_.emplace(std::vector<std::string>{bin_path("ragd"), "--config", config_path_}, opts_.gateway_env,
                     dir_.path() + "/ragd.log");
    bool up = wait_until([&] { return http_request(port_, "GET", "/healthz").status == 200; },
                         std::chrono::seconds(20));
    if (!up) throw std::runtime_error("ragd did not start:\n" + gateway_->log());
    if (opts_.start_worker) start_worker();
  }

  ~Stack() {
    if (::testing::Test::HasFailure()) {
      std::cerr << "---- ragd log ----\n" << gateway_->log().substr(0, 20000) << "\n";
      for (auto& w : workers_) std::cerr << "---- worker log ----\n" << w->log().substr(0, 20000) << "\n";
    }
  }

  // Another gateway replica on the same Redis, with the same config but its own port.
  // Returns its port.
  int add_gateway(const nlohmann::json& overrides = nlohmann::json::object()) {
    int port = free_port();
    auto cfg = nlohmann::json::parse(read_all(config_path_), nullptr, true, true);
    cfg["server"]["listen"] = "127.0.0.1:" + std::to_string(port);
    cfg.merge_patch(overrides);
    std::string path = dir_.path() + "/ragd-" + std::to_string(port) + ".json";
    std::ofstream(path) << cfg.dump(2);
    replicas_.push_back(std::make_unique<Process>(
        std::vector<std::string>{bin_path("ragd"), "--config", path}, std::map<std::string, std::string>{},
        dir_.path() + "/ragd-" + std::to_string(port) + ".log"));
    bool up = wait_until([&] { return http_request(port, "GET", "/healthz").status == 200; },
                         std::chrono::seconds(20));
    if (!up) throw std::runtime_error("replica did not start:\n" + replicas_.back()->log());
    return port;
  }

  static std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void start_worker() {
    std::vector<std::string> argv = {bin_path(opts_.worker_binary), "--redis", redis_.url(),
                                     "--concurrency", std::to_string(opts_.worker_concurrency)};
    for (auto& a : opts_.worker_args) argv.push_back(a);
    auto env = opts_.worker_env;
    env.emplace("RAGD_LOG_LEVEL", "info");
    workers_.push_back(std::make_unique<Process>(
        argv, env, dir_.path() + "/worker" + std::to_string(workers_.size()) + ".log"));
  }

  std::size_t worker_count() const { return workers_.size(); }
  Process& worker(std::size_t i) { return *workers_.at(i); }

  void stop_workers() {
    for (auto& w : workers_) w->stop();
    workers_.clear();
  }

  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return wait_until([&] { return get("/readyz").status == 200; }, timeout);
  }

  HttpResult post(const std::string& path, const nlohmann::json& body,
                  std::map<std::string, std::string> headers = {}) {
    return http_request(port_, "POST", path, body.dump(), headers);
  }
  HttpResult get(const std::string& path) { return http_request(port_, "GET", path); }

  HttpResult ingest_dir(const std::string& dir, int port = 0, std::map<std::string, std::string> headers = {}) {
    nlohmann::json docs = nlohmann::json::array();
    for (auto& e : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      docs.push_back({{"id", e.path().filename().string()}, {"title", e.path().stem().string()},
                      {"text", ss.str()}});
    }
    return http_request(port ? port : port_, "POST", "/v1/documents",
                        nlohmann::json{{"documents", docs}}.dump(), headers);
  }

  int port() const { return port_; }
  RedisServer& redis() { return redis_; }
  Process& gateway() { return *gateway_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  StackOptions opts_;
  TempDir dir_;
  RedisServer redis_;
  int port_ = 0;
  std::string config_path_;
  std::optional<Process> gateway_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<std::unique_ptr<Process>> replicas_;
};

// The fake OpenAI-compatible server on a free port.
class FakeLlm {
 public:
  explicit FakeLlm(std::vector<std::string> args = {}) : port_(free_port()) {
    std::vector<std::string> argv = {bin_path("fake-llm"), "--listen",
                                     "127.0.0.1:" + std::to_string(port_)};
    for (auto& a : args) argv.push_back(a);
    proc_.emplace(argv, std::map<std::string, std::string>{}, dir_.path() + "/fake-llm.log");
    bool up = wait_until([&] { return http_request(port_, "GET", "/healthz").status == 200; },
                         std::chrono::seconds(10));
    if (!up) throw std::runtime_error("fake-llm did not start: " + proc_->log());
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop() { proc_->stop(); }
  int chat_calls() {
    auto s = stats();
    return s.is_object() ? s.value("chat_calls", -1) : -1;
  }
  nlohmann::json stats() {
    return nlohmann::json::parse(http_request(port_, "GET", "/stats").body, nullptr, false);
  }

 private:
  TempDir dir_;
  int port_;
  std::optional<Process> proc_;
};

}  // namespace ragd::test
