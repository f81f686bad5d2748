// The project's fake OpenAI-compatible model server (bench/fake_llm) as a real process for
// tests: it listens on a port of its choosing and reports it; stats() reads its counters
// (chat_calls, embedding_calls, ...). Stopped, and checked to exit cleanly, on destruction.
#pragma once

#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ragd::test {

class FakeLlm {
 public:
  // `args`: fake-llm's flags besides --listen (e.g. {"--latency-ms", "200"}).
  explicit FakeLlm(std::vector<std::string> args = {});

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base_url() + path; }

  // GET /stats; throws when it does not answer 200.
  nlohmann::json stats() const;
  std::int64_t stat(const std::string& name) const { return stats().at(name).get<std::int64_t>(); }
  std::int64_t chat_calls() const { return stat("chat_calls"); }

  void stop() { proc_->stop(); }
  Process& process() { return *proc_; }

 private:
  TempDir dir_;
  int port_ = 0;
  std::optional<Process> proc_;
};

}  // namespace ragd::test
