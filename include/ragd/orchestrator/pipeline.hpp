// The coroutine orchestrator: the path of one query.
//   1. plan: the rules decide first (block, answer without the LLM, or add instructions);
//   2. context, in one co_await: the user's profile (behind a short-lived cache) and the
//      session history; each leg has its own deadline, and one that fails or is late
//      degrades (no profile, no history) instead of failing the query;
//   3. answer cache (L1 in process, L2 in Redis), keyed by everything that changes the
//      answer: fresh → answer now; stale → answer now and refresh once in the background
//      (one per process and one across replicas); missing → compute, with identical
//      concurrent misses sharing one computation (single flight);
//   4. compute: retrieval (embed + FAISS on the search pool), the prompt (passages fenced
//      as untrusted data), the LLM job through the queue within the deadline;
//   5. store the answer, append the turn to the session history, answer with sources,
//      cache status and timings.
// Thread-safety: run() may be called concurrently from any I/O thread.
#pragma once

#include "ragd/core/config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/retrieval/document.hpp"

#include <boost/asio/any_io_executor.hpp>
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

enum class CacheMode { use, bypass, refresh };

struct QueryRequest {
  std::string query;
  CacheMode cache_mode = CacheMode::use;
  std::string user_id;
  std::string session_id;
  int top_k = 0;  // 0 = the configured default
  std::string mode;  // retrieval mode: dense, lexical, hybrid; "" = the configured default
  std::string tenant;
  std::string request_id;
  std::int64_t deadline_unix_ms = 0;
};

struct Timings {
  double total = 0, rules = 0, retrieve = 0, profile = 0, history = 0, queue_wait = 0, llm = 0;
  // The answer cache's lookup (L1, then L2 on a miss there) and, for a computed answer, its
  // store (L1 and L2).
  double cache_lookup = 0, cache_store = 0;
  // What ragd added to a computed answer on top of the model's own time (total - llm):
  // gateway, retrieval, cache, queue and worker. 0 for answers served from the cache or a rule.
  double overhead = 0;
};

struct QueryResult {
  std::string request_id;
  std::string answer;
  std::vector<retrieval::Hit> sources;
  std::string cache = "miss";  // hit, stale, miss, bypass, rule
  double cache_age_ms = -1;    // age of the cached answer served (hit, stale)
  std::string model;
  Timings timings;
  std::vector<std::string> rules_matched;
  bool coalesced = false;  // waited on another request's identical computation
  // Why retrieval answered in a lesser mode than asked ("embedder": the embedding service
  // failed, hybrid fell back to lexical); empty when it did not. Such answers are not cached.
  std::string retrieval_degraded;
  // The answer's fields (answer, model, sources, usage) as the JSON object
  // render_answer_body() wrote, when already rendered (served from or just stored in the
  // cache); spliced into the response as they are. Shared with the cache entry, not copied
  // (it holds the passages' texts: kilobytes); null when not rendered.
  std::shared_ptr<const std::string> cached_body;
  bool profile_used = false;
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

struct PipelineDeps {
  boost::asio::any_io_executor executor;        // runs shared computations and refreshes
  std::shared_ptr<const rules::RuleSet> rules;  // may be null: no rules
  retrieval::Retriever& retriever;
  profile::ProfileStore& profiles;
  redis::Client& redis;
  queue::JobClient& jobs;
  metrics::Registry& metrics;
};

// The request-independent fields of an answer as a JSON object:
// {"answer", "model", "sources": [{"doc_id","chunk_id","title","score","text"}], "usage"}.
// Cached entries hold exactly this, so a cache hit is served without parsing JSON.
std::string render_answer_body(const QueryResult& r);

class Pipeline {
 public:
  Pipeline(PipelineDeps deps, GatewayConfig config);
  ~Pipeline();

  boost::asio::awaitable<Result<QueryResult>> run(QueryRequest request);

  // Background refreshes running in this process (for tests and metrics).
  std::size_t refreshes_in_flight() const;

  // The Redis list of a session's turns (see session_history.hpp for the count beside it).
  static std::string session_key(std::string_view key_prefix, const std::string& session_id) {
    return std::string(key_prefix) + "session:{" + session_id + "}";
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::orchestrator
