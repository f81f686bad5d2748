// A whole ragd deployment on loopback for integration tests: a real redis-server, the
// ragd gateway and ragd-worker processes (the fake LLM is fake_llm.hpp's), each listening
// on a port it chose and reported, stopped when the Stack is destroyed, even when a test
// fails, and checked to exit cleanly.
#pragma once

#include "fake_llm.hpp"
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
    nlohmann::json cfg = {
        {"server", {{"listen", "127.0.0.1:0"}, {"threads", 2}}},
        {"redis", {{"url", redis_.url()}}},
        {"queue", {{"heartbeat_interval_ms", 200}, {"worker_stale_ms", 1500}}},
        {"log", {{"level", "info"}}},
    };
    cfg.merge_patch(opts_.gateway_config);
    config_path_ = dir_.path() + "/ragd.json";
    std::ofstream(config_path_) << cfg.dump(2);
    gateway_.emplace(std::vector<std::string>{bin_path("ragd"), "--config", config_path_}, opts_.gateway_env,
                     dir_.path() + "/ragd.log");
    port_ = gateway_->listening_port();
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
    auto cfg = nlohmann::json::parse(read_all(config_path_), nullptr, true, true);
    cfg["server"]["listen"] = "127.0.0.1:0";
    cfg.merge_patch(overrides);
    const std::string name = "ragd-" + std::to_string(replicas_.size() + 1);
    std::string path = dir_.path() + "/" + name + ".json";
    std::ofstream(path) << cfg.dump(2);
    replicas_.push_back(std::make_unique<Process>(
        std::vector<std::string>{bin_path("ragd"), "--config", path}, std::map<std::string, std::string>{},
        dir_.path() + "/" + name + ".log"));
    const int port = replicas_.back()->listening_port();
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
    // Started once it logs its consumer name, which it does after installing its signal
    // handlers: a SIGTERM from then on is a clean shutdown, not death by the signal.
    Process& w = *workers_.back();
    bool up = wait_until([&] { return !w.alive() || w.log().find(" consumer=") != std::string::npos; },
                         std::chrono::seconds(20));
    if (!up || !w.alive()) throw std::runtime_error("ragd-worker did not start:\n" + w.log());
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

// Another ragd replica on a Stack's Redis that a test starts, stops and restarts itself (same
// config, same snapshot); its log is printed when the test failed.
class Replica {
 public:
  Replica(Stack& stack, std::string name, nlohmann::json overrides = nlohmann::json::object())
      : stack_(stack), name_(std::move(name)), overrides_(std::move(overrides)) {
    start();
  }
  ~Replica() {
    if (::testing::Test::HasFailure() && proc_) std::cerr << "---- " << name_ << " log ----\n" << proc_->log().substr(0, 20000) << "\n";
  }

  void start() {
    nlohmann::json cfg = {{"server", {{"listen", "127.0.0.1:0"}, {"threads", 2}}},
                {"redis", {{"url", stack_.redis().url()}}},
                {"queue", {{"heartbeat_interval_ms", 200}, {"worker_stale_ms", 1500}}}};
    cfg.merge_patch(overrides_);
    const std::string path = stack_.dir() + "/" + name_ + ".json";
    std::ofstream(path) << cfg.dump(2);
    proc_.emplace(std::vector<std::string>{bin_path("ragd"), "--config", path}, std::map<std::string, std::string>{},
                  stack_.dir() + "/" + name_ + ".log");
    port_ = proc_->listening_port();
    const bool up = wait_until([&] { return http_request(port_, "GET", "/healthz").status == 200; }, std::chrono::seconds(20));
    if (!up) throw std::runtime_error(name_ + " did not start:\n" + proc_->log());
  }
  void stop() { proc_.reset(); }  // SIGTERM: a clean shutdown saves the snapshot
  int port() const { return port_; }

 private:
  Stack& stack_;
  std::string name_;
  nlohmann::json overrides_;
  int port_ = 0;
  std::optional<Process> proc_;
};

// A response's body as JSON (discarded when it is not JSON).
inline nlohmann::json json_body(const HttpResult& r) { return nlohmann::json::parse(r.body, nullptr, false); }

// The error shape with this status and code, its message mentioning `mentions`.
inline void expect_error(const HttpResult& r, int status, const std::string& code, const std::string& mentions) {
  EXPECT_EQ(r.status, status) << r.body;
  auto j = json_body(r);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_EQ(j["error"]["code"], code) << r.body;
  EXPECT_NE(j["error"]["message"].get<std::string>().find(mentions), std::string::npos) << r.body;
}

}  // namespace ragd::test
