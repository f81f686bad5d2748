// What the pipeline asks of the modules below it, as interfaces: the gateway passes the real
// components (WiredPipeline adapts the retriever and the job client, SessionStore is the
// session history in Redis), unit tests pass fakes.
//
// Thread-safety: implementations are called concurrently from any I/O thread.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/orchestrator/prompt.hpp"
#include "ragd/queue/job.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <string>
#include <vector>

namespace ragd::orchestrator {

// Retrieval: the passages for a question from the tenant's own documents (none when it has
// none), of those `filter` matches (null: all), and the tenant's index version, part of
// every answer's key (another tenant's changes leave it, and so the tenant's cached
// answers, alone).
class Retrieval {
 public:
  virtual ~Retrieval() = default;
  virtual boost::asio::awaitable<Result<retrieval::SearchResult>> retrieve(std::string tenant, std::string query,
                                                                         int top_k, retrieval::SearchMode mode,
                                                                         std::chrono::milliseconds timeout,
                                                                         retrieval::MetadataFilterPtr filter) = 0;
  virtual retrieval::SearchMode default_mode() const = 0;
  virtual std::uint64_t version(std::string_view tenant) const = 0;
};

// The LLM job queue: submit() awaits the job's reply within the job's deadline.
class LlmJobs {
 public:
  virtual ~LlmJobs() = default;
  virtual boost::asio::awaitable<Result<queue::JobReply>> submit(queue::Job job) = 0;
  // A streamed job: `on_delta` gets the answer's pieces as the worker writes them (a prefix
  // of the reply's text), then the reply comes as from submit(). A run that stops after some
  // pieces were handed on (its worker died) is an upstream_error, never a spliced answer.
  using DeltaHandler = std::function<void(std::string_view text)>;
  virtual boost::asio::awaitable<Result<queue::JobReply>> submit_stream(queue::Job job, DeltaHandler on_delta) = 0;
  // True when a job of this priority would be shed now.
  virtual bool saturated(queue::Priority priority) const = 0;
};

// A session's recent turns. A session belongs to a tenant: the same session id in two
// tenants names two sessions. Both calls are optional legs: the pipeline races load()
// against the context deadline and goes on without history when it fails; append() logs its
// own failures.
class SessionHistory {
 public:
  virtual ~SessionHistory() = default;
  // False: sessions are off (no turns are read or kept).
  virtual bool enabled() const = 0;
  virtual boost::asio::awaitable<Result<std::vector<Turn>>> load(std::string tenant, std::string session_id) = 0;
  virtual boost::asio::awaitable<void> append(std::string tenant, std::string session_id, std::string question,
                                              std::string answer) = 0;
};

}  // namespace ragd::orchestrator
