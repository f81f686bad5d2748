// The worker's view of "the LLM": one call turns a queued Job into an answer. Two
// implementations: OpenAiGenerator calls any OpenAI-compatible server over HTTP, and
// OfflineGenerator composes an extractive answer from the job's passages with no network,
// so the whole pipeline runs on one machine with nothing configured. Both can stream: the
// answer then also goes out piece by piece, as it is produced, through a DeltaSink.
//
// Thread-safety: generate() may be called concurrently (many jobs in flight); each
// implementation documents what it shares between calls.
#pragma once

#include "ragd/llm/llm_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/queue/job.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ragd::llm {

struct GenerateResult {
  std::string text;
  std::string model;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  std::string finish_reason;  // stop, length, ...
};

// Receives a streamed answer: each new piece of text, in order, on the executor the
// generator runs on. The pieces joined are the GenerateResult::text of the call.
using DeltaSink = std::function<void(std::string_view delta)>;

class Generator {
 public:
  virtual ~Generator() = default;

  // Answers one job before job.deadline_unix_ms (0 = no deadline). Errors:
  // deadline_exceeded, upstream_error (the service answered with an error),
  // unavailable (it could not be reached), cancelled (the awaiting coroutine was).
  virtual boost::asio::awaitable<Result<GenerateResult>> generate(queue::Job job) = 0;

  // The same, streamed: on_delta gets the answer as it is produced, before the call returns
  // the whole of it. On an error after some deltas, those deltas were a partial answer.
  virtual boost::asio::awaitable<Result<GenerateResult>> generate_stream(queue::Job job, DeltaSink on_delta) = 0;

  // How much of a job generate() reads: the worker decodes jobs so (see decode_job()).
  virtual queue::JobDecoding job_decoding() const { return queue::JobDecoding::full; }
};

// The offline generator when cfg.base_url is empty, the OpenAI-compatible client otherwise.
std::unique_ptr<Generator> make_generator(boost::asio::any_io_executor ex, const LlmConfig& cfg);

}  // namespace ragd::llm
