// Reads a streamed chat completion as its bytes arrive: OpenAI's server-sent events,
// "data: {chat.completion.chunk}" events ending with "data: [DONE]". Each chunk's
// choices[0].delta.content goes to a DeltaSink at once and is added to the answer; the
// model, the finish reason and (with stream_options.include_usage) the usage are kept.
// An "error" object in an event (some servers report failures mid-stream so) ends the
// stream with Errc::upstream_error.
//
// Bounded: a line longer than max_line_bytes (no server sends one; a broken one might
// send an endless one) is an error rather than a growing buffer.
//
// Thread-safety: one reader per stream, fed from one thread at a time.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/llm/generator.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ragd {
class JsonValue;
}

namespace ragd::llm {

// A token count of a "usage" object, as both response shapes carry it: 0 when absent, not
// an integer or out of range.
int usage_count(const JsonValue& usage, std::string_view key);

class ChatStreamReader {
 public:
  static constexpr std::size_t kDefaultMaxLine = 1024 * 1024;
  explicit ChatStreamReader(std::size_t max_line_bytes = kDefaultMaxLine) : max_line_(max_line_bytes) {}

  // Feeds the next bytes of the body, calling on_delta (if set) for each content delta.
  // False once the stream is in error (error() says why); later bytes are ignored.
  bool feed(std::string_view bytes, const DeltaSink& on_delta);

  bool done() const { return done_; }  // "data: [DONE]" was read
  const std::optional<Error>& error() const { return error_; }
  // The answer so far: text, model, finish_reason, token counts (0 when not reported).
  const GenerateResult& result() const { return result_; }
  GenerateResult take_result() { return std::move(result_); }

 private:
  void line(std::string_view l, const DeltaSink& on_delta);
  void event(const DeltaSink& on_delta);

  std::size_t max_line_;
  std::string partial_;  // an incomplete line
  std::string data_;     // the data lines of the event being read
  bool has_data_ = false;
  bool done_ = false;
  std::optional<Error> error_;
  GenerateResult result_;
};

}  // namespace ragd::llm
