// Test helpers for the modules that call HTTP services (net, llm, retrieval): a real
// fake-llm process on a free loopback port, and a bounded coroutine runner (a hung
// request fails the test instead of the whole run).
#pragma once

#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ragd::test {

class FakeLlm {
 public:
  explicit FakeLlm(std::vector<std::string> extra_args = {}) : port_(free_port()) {
    std::vector<std::string> argv = {bin_path("fake-llm"), "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "--threads", "1"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    proc_.emplace(argv, std::map<std::string, std::string>{}, dir_.path() + "/fake-llm.log");
    bool up = wait_until(
        [&] { return http_request(port_, "GET", "/healthz", {}, {}, std::chrono::seconds(1)).status == 200; },
        std::chrono::seconds(10));
    if (!up) throw std::runtime_error("fake-llm did not start: " + proc_->log());
  }

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base_url() + path; }

  nlohmann::json stats() const {
    auto r = http_request(port_, "GET", "/stats", {}, {}, std::chrono::seconds(5));
    if (r.status != 200) throw std::runtime_error("GET /stats failed: " + r.body);
    return nlohmann::json::parse(r.body);
  }
  std::int64_t stat(const std::string& name) const { return stats().at(name).get<std::int64_t>(); }

 private:
  TempDir dir_;
  int port_;
  std::optional<Process> proc_;
};

// Runs `make(io)` on a fresh io_context for at most `limit`; nullopt when it did not
// finish in time. Rethrows the coroutine's exception.
template <class T, class Make>
std::optional<T> run_bounded(Make make, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  boost::asio::io_context io;
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, make(io), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
  });
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < until) {
    io.run_one_for(std::chrono::milliseconds(50));
    if (io.stopped()) io.restart();
  }
  // Work other threads still owe this context (a pool posting a completion back) runs before
  // the context goes away; bounded, so a leaked work guard cannot hang a test.
  const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (done && !io.stopped() && std::chrono::steady_clock::now() < drain_until) {
    io.run_for(std::chrono::milliseconds(10));
  }
  if (error) std::rethrow_exception(error);
  return result;
}

}  // namespace ragd::test
