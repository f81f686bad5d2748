// The answer's part of a /query response: {"answer", "model", "sources": [{"doc_id",
// "chunk_id", "title", "score", "text", "metadata"?}], "usage"}. The gateway hands this
// renderer to the orchestrator's answer cache, whose entries keep its bytes, so a cache hit
// is served without rendering or parsing JSON (render_query_result splices them).
// Thread-safe (no state).
#pragma once

#include "ragd/orchestrator/query.hpp"

#include <string>
#include <vector>

namespace ragd {
class JsonWriter;
}

namespace ragd::http {

std::string render_answer_body(const orchestrator::QueryResult& r);

// The "sources" array alone.
void write_sources(JsonWriter& w, const std::vector<retrieval::Hit>& hits);

// An answer's fields, wherever they are: in the result, or in the body the cache kept (read
// back from its JSON).
struct AnswerParts {
  std::string answer;
  std::string model;
  std::string sources_json;  // a JSON array
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};
AnswerParts answer_parts(const orchestrator::QueryResult& r);

}  // namespace ragd::http
