#include "ragd/http/answer_body.hpp"

#include "ragd/core/json_writer.hpp"

namespace ragd::http {

std::string render_answer_body(const orchestrator::QueryResult& r) {
  // Written directly: passages make this several kilobytes, and a JSON tree plus its dump
  // cost several times more than the text.
  std::string out;
  std::size_t size = 256 + r.answer.size();
  for (const auto& h : r.sources) size += 128 + h.text.size() + h.title.size() + h.metadata.size();
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object().member("answer", r.answer).member("model", r.model);
  w.key("sources").begin_array();
  for (const auto& h : r.sources) {
    w.begin_object()
        .member("doc_id", h.doc_id)
        .member("chunk_id", h.chunk_id)
        .member("title", h.title)
        .member("score", static_cast<double>(h.score))
        .member("text", h.text);
    // Stored as the JSON text of an object the ingest validated.
    if (!h.metadata.empty()) w.key("metadata").raw(h.metadata);
    w.end_object();
  }
  w.end_array();
  w.key("usage")
      .begin_object()
      .member("prompt_tokens", static_cast<std::int64_t>(r.prompt_tokens))
      .member("completion_tokens", static_cast<std::int64_t>(r.completion_tokens))
      .member("total_tokens", static_cast<std::int64_t>(r.prompt_tokens + r.completion_tokens))
      .end_object();
  w.end_object();
  return out;
}

}  // namespace ragd::http
