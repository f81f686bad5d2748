// OpenAI's chat completions wire format over ragd's query path, as pure functions:
// POST /v1/chat/completions bodies parsed into a query (the last user message is the
// question; earlier user and assistant messages are the conversation's turns, system and
// developer messages its instructions), and answers rendered as a chat.completion object or
// as chat.completion.chunk events ending with `data: [DONE]`. ragd's own fields (sources,
// cache status, timings) travel in one extra top-level object, "ragd", which OpenAI's SDKs
// keep. Thread-safe (no state).
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/http/answer_body.hpp"
#include "ragd/http/http_config.hpp"
#include "ragd/orchestrator/query.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::http {

struct ChatRequest {
  orchestrator::QueryRequest query;  // question, turns, instructions, limits, stream, user_id, session_id
  std::string model;                 // as asked
  bool include_usage = false;        // stream_options.include_usage
};

// Fields: messages (required), model (required), stream, stream_options.include_usage,
// max_tokens (or max_completion_tokens), temperature (0 to 2), user (the profile's user
// id), n (1 only); ragd's own: session_id, top_k, mode, cache, filter. OpenAI's sampling options
// that do not change what is asked (top_p, presence_penalty, frequency_penalty, seed, stop,
// logit_bias, store, metadata) are accepted and ignored; tools, functions and anything else
// are a 400 naming the field.
Result<ChatRequest> parse_chat_body(std::string_view body, const QueryConfig& limits);

// OpenAI's 404 for a model this gateway does not serve.
Error model_not_found(const std::string& model);
// The error body for `model_not_found` (code "model_not_found", param "model").
std::string model_not_found_body(const std::string& model);

// What every object of one completion shares.
struct ChatIdentity {
  std::string id;       // "chatcmpl-<request id>"
  std::int64_t created = 0;  // unix seconds
  std::string model;    // as asked
};

// The "ragd" object: request_id, cache, timings_ms (and cache_age_ms, rules_matched,
// retrieval_degraded when set), and the sources when `sources_json` is not empty.
void write_ragd_object(JsonWriter& w, const orchestrator::QueryResult& r, std::string_view sources_json);

std::string render_chat_completion(const ChatIdentity& id, const orchestrator::QueryResult& r,
                                   const AnswerParts& parts);
// GET /v1/models: the models this gateway serves.
std::string render_models(const std::vector<std::string>& models);

// chat.completion.chunk events, each `data: <json>\n\n`.
std::string chat_chunk_first(const ChatIdentity& id, std::string_view sources_json, bool include_usage);
std::string chat_chunk_delta(const ChatIdentity& id, std::string_view text, bool include_usage);
// The finishing chunk (finish_reason "stop", the "ragd" object), the usage chunk when asked
// for, and `data: [DONE]`.
std::string chat_chunk_last(const ChatIdentity& id, const orchestrator::QueryResult& r, const AnswerParts& parts,
                            bool include_usage);
// A failure after the stream began: `data: {"error": …}` (OpenAI's SDKs raise it).
std::string chat_chunk_error(const Error& e);

}  // namespace ragd::http
