// A client for OpenAI-compatible chat completion servers (OpenAI, vLLM, Ollama,
// llama.cpp server): POST {base}/v1/chat/completions, streamed (generate_stream: SSE read
// as it arrives, see chat_stream.hpp) or not (generate). base_url may be given
// with or without the trailing "/v1" ("http://host:8000" and "http://host:8000/v1" mean
// the same). Each call is bounded by min(timeout_ms, the job's remaining deadline) and
// retried on 5xx, 429 (after Retry-After), timeouts and connection errors, with jittered
// exponential backoff, never past the deadline (the policy in net/retry.hpp); a stream is
// retried only until its first delta has been handed on.
//
// Thread-safety: generate() may run concurrently from any thread; calls share one
// HttpClient (and its keep-alive connections). The pure helpers are stateless.
#pragma once

#include "ragd/llm/llm_config.hpp"
#include "ragd/llm/generator.hpp"
#include "ragd/net/http_client.hpp"
#include "ragd/net/retry.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::llm {

// "{base}/v1/chat/completions" with a trailing "/" or "/v1" of base_url folded in.
std::string chat_completions_url(std::string_view base_url);

// The JSON body: model (job.model, else cfg.model), messages (job.messages_json as it is,
// else job.messages, else the question as one user message), max_tokens (job's, capped by
// cfg.max_tokens), temperature (job's), stream (with stream_options.include_usage when true).
std::string build_chat_request(const queue::Job& job, const LlmConfig& cfg, bool stream = false);

// Reads an answer out of a response. Non-2xx statuses and malformed bodies give
// Errc::upstream_error naming the status and the upstream's own message (truncated).
Result<GenerateResult> parse_chat_response(int status, std::string_view body);

struct OpenAiGeneratorOptions {
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{2000};
};

class OpenAiGenerator final : public Generator {
 public:
  OpenAiGenerator(boost::asio::any_io_executor ex, LlmConfig cfg,
                  OpenAiGeneratorOptions options = {});
  boost::asio::awaitable<Result<GenerateResult>> generate(queue::Job job) override;
  boost::asio::awaitable<Result<GenerateResult>> generate_stream(queue::Job job, DeltaSink on_delta) override;
  // The messages go to the model as the job carries them.
  queue::JobDecoding job_decoding() const override { return queue::JobDecoding::forwarding; }

 private:
  net::HttpRequest make_request(const queue::Job& job, bool stream) const;
  net::RetryPolicy retry_policy() const;

  LlmConfig cfg_;
  OpenAiGeneratorOptions options_;
  std::string url_;
  net::HttpClient http_;
};

}  // namespace ragd::llm
