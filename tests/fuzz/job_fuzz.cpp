// Job and reply payloads (what workers and gateways read from Redis streams) on arbitrary
// bytes, in both of decode_job()'s modes. A decoded job or reply must encode and decode
// back to the same thing, compact or not.
#include "ragd/queue/job.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kFenceRefusal = "field 'passages_in_prompt' is set, but";

// `with_texts` off: the messages and passage texts are left out (forwarding does not decode
// them).
bool same(const ragd::queue::Job& a, const ragd::queue::Job& b, bool with_texts = true) {
  if (a.id != b.id || a.reply_to != b.reply_to || a.deadline_unix_ms != b.deadline_unix_ms ||
      a.priority != b.priority || a.tenant != b.tenant || a.request_id != b.request_id || a.model != b.model ||
      a.max_tokens != b.max_tokens || a.traceparent != b.traceparent || a.question != b.question ||
      a.attempt != b.attempt || a.stream != b.stream || a.enqueued_unix_ms != b.enqueued_unix_ms ||
      a.passages.size() != b.passages.size())
    return false;
  for (std::size_t i = 0; i < a.passages.size(); ++i) {
    if (a.passages[i].doc_id != b.passages[i].doc_id || a.passages[i].chunk_id != b.passages[i].chunk_id ||
        a.passages[i].title != b.passages[i].title)
      return false;
  }
  if (!with_texts) return true;
  if (a.messages.size() != b.messages.size()) return false;
  for (std::size_t i = 0; i < a.messages.size(); ++i) {
    if (a.messages[i].role != b.messages[i].role || a.messages[i].content != b.messages[i].content) return false;
  }
  for (std::size_t i = 0; i < a.passages.size(); ++i) {
    if (a.passages[i].text != b.passages[i].text) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string payload(reinterpret_cast<const char*>(data), size);
  using ragd::queue::JobDecoding;

  auto full = ragd::queue::decode_job(payload, JobDecoding::full);
  auto forwarding = ragd::queue::decode_job(payload, JobDecoding::forwarding);
  // Forwarding checks the payload as strictly as full decoding, except for the passage
  // fences that "passages_in_prompt" promises, which only full decoding reads.
  if (full && !forwarding) __builtin_trap();
  if (!full && forwarding && full.error().message.find(kFenceRefusal) == std::string::npos) __builtin_trap();
  if (full && !same(*full, *forwarding, false)) __builtin_trap();
  if (full) {
    for (bool compact : {false, true}) {
      auto again = ragd::queue::decode_job(ragd::queue::encode_job(*full, compact));
      if (!again || !same(*full, *again)) __builtin_trap();
    }
  }

  if (auto reply = ragd::queue::decode_reply(payload)) {
    auto again = ragd::queue::decode_reply(ragd::queue::encode_reply(*reply));
    if (!again || again->job_id != reply->job_id || again->ok != reply->ok || again->text != reply->text ||
        again->error_code != reply->error_code)
      __builtin_trap();
  }
  return 0;
}
