// The built-in generator used when no LLM is configured: an extractive answer made of the
// retrieved passages' sentences that best match the question, each cited as [n] (the
// passage's position in the job), followed by a "Sources:" line. Deterministic, no I/O;
// the work is in compose_extractive_answer(), a pure function. The sentences are whole
// sentences of the passages' prose (see markdown_sentences.hpp). Streamed, the answer goes
// out a word at a time, each piece in its own turn of the executor, as a model's would.
//
// Thread-safety: everything here is stateless and safe to call from any thread.
#pragma once

#include "ragd/llm/generator.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragd::llm {

// What the offline generator says when the passages do not answer the question.
inline constexpr std::string_view kNotFoundAnswer = "I could not find this in the indexed documents.";

// Content words of `text` as used for matching: lower-cased, punctuation stripped, stop
// words dropped, light suffix stemming ("indexes" and "indexing" both give "index").
std::vector<std::string> content_terms(std::string_view text);

// Approximate token count: words separated by white space.
int approx_tokens(std::string_view text);

// The pieces a streamed answer goes out in: each word with the white space before it.
// Joined, they are `text`.
std::vector<std::string_view> stream_pieces(std::string_view text);

// The answer for `question` from `passages` (in rank order). model = "ragd-offline",
// finish_reason = "stop", token counts approximate.
GenerateResult compose_extractive_answer(std::string_view question,
                                         const std::vector<queue::Passage>& passages);

class OfflineGenerator final : public Generator {
 public:
  explicit OfflineGenerator(std::string model = "ragd-offline") : model_(std::move(model)) {}
  boost::asio::awaitable<Result<GenerateResult>> generate(queue::Job job) override;
  boost::asio::awaitable<Result<GenerateResult>> generate_stream(queue::Job job, DeltaSink on_delta) override;

 private:
  std::string model_;
};

}  // namespace ragd::llm
