// The values a query is made of: the request the gateway parsed, and the result the
// pipeline gives back (answer, sources, cache status, timings). Plain values: copy freely.
#pragma once

#include "ragd/core/ids.hpp"
#include "ragd/orchestrator/answer_sink.hpp"
#include "ragd/orchestrator/prompt.hpp"
#include "ragd/redis/tenant_keys.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/metadata_filter.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::orchestrator {

enum class CacheMode { use, bypass, refresh };

struct QueryRequest {
  std::string query;
  CacheMode cache_mode = CacheMode::use;
  std::string user_id;
  std::string session_id;
  int top_k = 0;  // 0 = the configured default
  std::string mode;  // retrieval mode: dense, lexical, hybrid; "" = the configured default
  // Only passages of documents whose metadata it matches (null: all); part of the answer's key.
  retrieval::MetadataFilterPtr filter;
  std::string tenant{redis::kDefaultTenant};  // whose sessions, profiles and answers
  std::string request_id;
  std::string traceparent;  // the gateway's span of the request's trace; the job carries it
  std::int64_t deadline_unix_ms = 0;
  // The client's own conversation (OpenAI `messages`): earlier turns, after the session's,
  // and its system messages, after the rules' instructions. Both are part of the answer's key.
  std::vector<Turn> turns;
  std::vector<std::string> instructions;
  int max_tokens = 0;       // 0 = the job's default
  double temperature = -1;  // < 0 = the job's default
  bool stream = false;      // the client asked for the answer as it is written
  // Set: the answer's sources and pieces are handed to it as they come (see answer_sink.hpp).
  std::shared_ptr<AnswerSink> sink;
};

struct Timings {
  double total = 0, rules = 0, retrieve = 0, profile = 0, history = 0, queue_wait = 0, llm = 0;
  // The answer cache's lookup (L1, then L2 on a miss there) and, for a computed answer, its
  // store (L1 and L2).
  double cache_lookup = 0, cache_store = 0;
  // What ragd added to a computed answer on top of the model's own time (total - llm):
  // gateway, retrieval, cache, queue and worker. 0 for answers served from the cache or a rule.
  double overhead = 0;
  // Streamed requests: from the query's start until the first piece of the answer was
  // handed on (for an answer given whole, from the cache or a rule: until it was ready).
  double first_token = 0;
};

// An answer's fields (answer, model, sources, usage) as the JSON object the gateway's
// renderer wrote (see AnswerCache), and the answer's text, as bytes shared with a cache
// entry (they hold the passages' texts: kilobytes), not copied.
struct RenderedAnswer {
  std::shared_ptr<const void> owner;  // null: not rendered
  std::string_view body;
  std::string_view answer;
  explicit operator bool() const noexcept { return owner != nullptr; }
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
  // The answer as the cache keeps it, when it came from or went into the cache: set, the
  // response splices its body as it is, and `answer` and `sources` may be empty.
  RenderedAnswer rendered;
  bool profile_used = false;
  int prompt_tokens = 0;
  int completion_tokens = 0;

  // The answer's text, wherever it is.
  std::string_view answer_text() const noexcept { return rendered ? rendered.answer : std::string_view(answer); }
};

// What is left of a request's time until `deadline_unix_ms`, at most `cap_ms` (a leg's own
// limit), never negative.
inline std::chrono::milliseconds time_left(std::int64_t deadline_unix_ms, int cap_ms) {
  const std::int64_t left = deadline_unix_ms - unix_ms();
  return std::chrono::milliseconds(std::max<std::int64_t>(0, std::min<std::int64_t>(left, cap_ms)));
}

}  // namespace ragd::orchestrator
