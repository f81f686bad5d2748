#include "ragd/http/answer_body.hpp"

#include "ragd/core/json_writer.hpp"

#include <nlohmann/json.hpp>

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
  w.key("sources");
  write_sources(w, r.sources);
  w.key("usage")
      .begin_object()
      .member("prompt_tokens", static_cast<std::int64_t>(r.prompt_tokens))
      .member("completion_tokens", static_cast<std::int64_t>(r.completion_tokens))
      .member("total_tokens", static_cast<std::int64_t>(r.prompt_tokens + r.completion_tokens))
      .end_object();
  w.end_object();
  return out;
}

void write_sources(JsonWriter& w, const std::vector<retrieval::Hit>& hits) {
  w.begin_array();
  for (const auto& h : hits) {
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
}

AnswerParts answer_parts(const orchestrator::QueryResult& r) {
  AnswerParts p;
  p.answer = std::string(r.answer_text());
  // A computed answer (this request's, or the computation it followed) still has its fields
  // beside the body the cache kept: reading them back from that JSON cost more than the rest
  // of a streamed miss's gateway work together. Only a cache hit has the body alone.
  const bool has_fields = !r.answer.empty() || !r.sources.empty();
  if (!r.rendered || has_fields) {
    p.model = r.model;
    JsonWriter w(p.sources_json);
    write_sources(w, r.sources);
    p.prompt_tokens = r.prompt_tokens;
    p.completion_tokens = r.completion_tokens;
    return p;
  }
  // The body render_answer_body() wrote, as the cache keeps it.
  auto j = nlohmann::json::parse(r.rendered.body, nullptr, false);
  if (!j.is_object()) {
    p.sources_json = "[]";
    return p;
  }
  p.model = j.value("model", "");
  auto sources = j.find("sources");
  p.sources_json = sources != j.end() ? sources->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : "[]";
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    p.prompt_tokens = u->value("prompt_tokens", std::int64_t{0});
    p.completion_tokens = u->value("completion_tokens", std::int64_t{0});
  }
  return p;
}

}  // namespace ragd::http
