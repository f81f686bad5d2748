// The coroutine orchestrator: the path of one query.
//   1. plan: the rules decide first (block, answer without the LLM, or add instructions);
//   2. fan out in one co_await: retrieval (embed + FAISS on the search pool), the user's
//      profile and the session history, each leg with its own deadline; an optional leg
//      that fails or is late degrades (no profile, no history) instead of failing;
//   3. build the prompt (passages fenced as untrusted data);
//   4. enqueue the LLM job and await the reply within the request's deadline;
//   5. append the turn to the session history and answer with sources and timings.
// Thread-safety: run() may be called concurrently from any I/O thread.
#pragma once

#include "ragd/core/config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/retrieval/document.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ragd::redis {
class Client;
}
namespace ragd::queue {
class JobClient;
}
namespace ragd::retrieval {
class Retriever;
}
namespace ragd::rules {
class RuleSet;
}
namespace ragd::profile {
class ProfileStore;
}
namespace ragd::metrics {
class Registry;
}

namespace ragd::orchestrator {

struct QueryRequest {
  std::string query;
  std::string user_id;
  std::string session_id;
  int top_k = 0;  // 0 = the configured default
  std::string tenant;
  std::string request_id;
  std::int64_t deadline_unix_ms = 0;
};

struct Timings {
  double total = 0, rules = 0, retrieve = 0, profile = 0, history = 0, queue_wait = 0, llm = 0;
};

struct QueryResult {
  std::string request_id;
  std::string answer;
  std::vector<retrieval::Hit> sources;
  std::string cache = "miss";  // miss, rule
  std::string model;
  Timings timings;
  std::vector<std::string> rules_matched;
  bool profile_used = false;
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

struct PipelineDeps {
  std::shared_ptr<const rules::RuleSet> rules;  // may be null: no rules
  retrieval::Retriever& retriever;
  profile::ProfileStore& profiles;
  redis::Client& redis;
  queue::JobClient& jobs;
  metrics::Registry& metrics;
};

class Pipeline {
 public:
  Pipeline(PipelineDeps deps, GatewayConfig config);
  ~Pipeline();

  boost::asio::awaitable<Result<QueryResult>> run(QueryRequest request);

  static std::string session_key(const std::string& session_id) {
    return "session:{" + session_id + "}";
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::orchestrator
