// How an answer is computed when the cache has none: retrieval (with its own deadline),
// the prompt (passages fenced as untrusted data), then the LLM job through the queue within
// the query's deadline; with a sink, the sources and the model's pieces are handed on as they
// come (a streamed job). A Computation holds what that needs by value: it may outlive the
// request that started it (single flight, background refresh).
//
// Thread-safety: run() may be called concurrently from any thread.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/orchestrator/answer_sink.hpp"
#include "ragd/orchestrator/ports.hpp"
#include "ragd/orchestrator/prompt.hpp"
#include "ragd/orchestrator/query.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace ragd::orchestrator {

struct StageMetrics;

struct Computation {
  std::string query;
  int top_k = 0;
  retrieval::SearchMode mode = retrieval::SearchMode::hybrid;
  retrieval::MetadataFilterPtr filter;  // null: every document
  std::string tenant;
  std::string request_id;
  std::string traceparent;
  std::int64_t deadline_unix_ms = 0;
  queue::Priority priority = queue::Priority::interactive;
  PromptInput prompt;  // profile, instructions and history filled in; passages added by run()
  std::int64_t soft_ttl_ms = 0;  // answer-cache lifetimes (from the config or a rule)
  std::int64_t hard_ttl_ms = 0;
  int max_tokens = 0;          // the model's limits for this answer; 0 = the job's default
  double temperature = -1;     // < 0 = the job's default
  // Set: the answer streams (sources after retrieval, then the model's pieces) to it.
  std::shared_ptr<AnswerSink> sink;
};

class AnswerComputer {
 public:
  // `model`: requested on jobs ("" = the worker's own); `retrieval_timeout_ms` caps the
  // retrieval leg below the query's deadline.
  AnswerComputer(Retrieval& retrieval, LlmJobs& jobs, StageMetrics& stages, std::string model,
                 int retrieval_timeout_ms);

  // The answer, its sources and usage; timings.retrieve, queue_wait and llm filled in.
  boost::asio::awaitable<Result<QueryResult>> run(Computation c);

 private:
  Retrieval& retrieval_;
  LlmJobs& jobs_;
  StageMetrics& stages_;
  std::string model_;
  int retrieval_timeout_ms_;
};

}  // namespace ragd::orchestrator
