// The answer's part of a /query response: {"answer", "model", "sources": [{"doc_id",
// "chunk_id", "title", "score", "text", "metadata"?}], "usage"}. The gateway hands this
// renderer to the orchestrator's answer cache, whose entries keep its bytes, so a cache hit
// is served without rendering or parsing JSON (render_query_result splices them).
// Thread-safe (no state).
#pragma once

#include "ragd/orchestrator/query.hpp"

#include <string>

namespace ragd::http {

std::string render_answer_body(const orchestrator::QueryResult& r);

}  // namespace ragd::http
