// The coroutine orchestrator: the path of one query.
//   1. plan: the rules decide first (block, answer without the LLM, or add instructions);
//   2. context, in one co_await: the user's profile (profile::CachedProfileStore) and the
//      session's turns (SessionHistory); each leg has its own deadline, and one that fails or
//      is late degrades (no profile, no history) instead of failing the query;
//   3. answer: from the answer cache (AnswerCache: fresh, or stale with one background
//      refresh), else computed (AnswerComputer: retrieval, prompt, the LLM job through the
//      queue), identical concurrent misses sharing one computation;
//   4. finish: append the turn to the session, count, and answer with sources, cache status
//      and timings.
// Its collaborators are ports (ports.hpp) and stores passed in; WiredPipeline wires the real
// ones.
// Thread-safety: run() may be called concurrently from any I/O thread.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/orchestrator/answer_cache.hpp"
#include "ragd/orchestrator/ports.hpp"
#include "ragd/orchestrator/query.hpp"
#include "ragd/orchestrator/session_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace ragd::redis {
class Client;
}
namespace ragd::rules {
class ReloadableRules;
}
namespace ragd::profile {
class CachedProfileStore;
}
namespace ragd::metrics {
class Registry;
}

namespace ragd::orchestrator {

// What the pipeline and its stores read of the gateway's configuration.
struct PipelineConfig {
  std::string model;               // requested on jobs and part of answer keys; "" = the worker's own
  int default_top_k = 4;           // when a request gives none
  int retrieval_timeout_ms = 2000;
  int context_timeout_ms = 100;    // each context leg (profile, session history)
  int profile_ttl_ms = 5000;       // profiles cached in process; 0 = none
  AnswerCacheConfig answers;
  SessionStoreConfig sessions;
};

struct PipelineDeps {
  boost::asio::any_io_executor executor;        // runs shared computations and refreshes
  std::shared_ptr<const rules::ReloadableRules> rules;  // may be null: no rules
  Retrieval& retrieval;
  LlmJobs& jobs;
  profile::CachedProfileStore& profiles;
  SessionHistory& sessions;
  redis::Client* answers_l2;                    // null: the answer cache is in process only
  AnswerCache::Render render;                   // the answer's fields as cached and answered
  metrics::Registry& metrics;
};

class Pipeline {
 public:
  Pipeline(PipelineDeps deps, PipelineConfig config);
  ~Pipeline();

  boost::asio::awaitable<Result<QueryResult>> run(QueryRequest request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::orchestrator
