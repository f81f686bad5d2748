#include "answer_events.hpp"

#include "ragd/core/json_writer.hpp"
#include "ragd/http/api.hpp"

#include <spdlog/spdlog.h>

namespace ragd::http {

namespace {

std::string sse(std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(event.size() + data.size() + 16);
  out += "event: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

}  // namespace

std::string QueryEvents::sources(std::string_view sources_json) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().member("request_id", request_id_).key("sources").raw(sources_json).end_object();
  return sse("sources", data);
}

std::string QueryEvents::delta(std::string_view text) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().member("text", text).end_object();
  return sse("delta", data);
}

std::string QueryEvents::done(const orchestrator::QueryResult& r, const AnswerParts& parts) {
  std::string data;
  JsonWriter w(data);
  w.begin_object();
  write_query_fields(w, r);
  w.member("model", parts.model)
      .key("usage")
      .begin_object()
      .member("prompt_tokens", parts.prompt_tokens)
      .member("completion_tokens", parts.completion_tokens)
      .member("total_tokens", parts.prompt_tokens + parts.completion_tokens)
      .end_object()
      .end_object();
  return sse("done", data);
}

std::string QueryEvents::error(const Error& e) { return sse("error", error_body(e)); }

void StreamedAnswer::sources(const std::vector<retrieval::Hit>& hits) {
  std::lock_guard lock(mutex_);
  if (sources_sent_) return;
  sources_sent_ = true;
  std::string json;
  JsonWriter w(json);
  write_sources(w, hits);
  out_->write(format_->sources(json));
}

void StreamedAnswer::delta(std::string_view text) {
  std::lock_guard lock(mutex_);
  sent_.append(text);
  out_->write(format_->delta(text));
}

void StreamedAnswer::finish(const Result<orchestrator::QueryResult>& result) {
  std::lock_guard lock(mutex_);
  if (!result) {
    Error e = result.error();
    if (!out_->started()) {
      out_->respond(format_->error_response(e));
      return;
    }
    if (e.code == Errc::internal || !e.detail.empty()) {
      spdlog::error("req_id={} streamed answer failed: {}", request_id_, log_text(e));
    }
    if (e.code == Errc::internal) e.message = "internal error; see the server log for request " + request_id_;
    out_->write(format_->error(e));
    out_->end();
    return;
  }
  const orchestrator::QueryResult& r = *result;
  const AnswerParts parts = answer_parts(r);
  if (!sources_sent_) {
    sources_sent_ = true;
    out_->write(format_->sources(parts.sources_json));
  }
  if (!parts.answer.starts_with(sent_)) {
    // Cannot happen: what was handed on is a prefix of the answer (job_stream.hpp). Should it
    // anyway, the client is told rather than given a spliced text.
    spdlog::error("req_id={} streamed pieces are not a prefix of the answer", request_id_);
    out_->write(format_->error(make_error(Errc::upstream_error, "the streamed answer was inconsistent; ask again")));
    out_->end();
    return;
  }
  if (parts.answer.size() > sent_.size()) {
    out_->write(format_->delta(std::string_view(parts.answer).substr(sent_.size())));
    sent_ = parts.answer;
  }
  out_->write(format_->done(r, parts));
  out_->end();
}

}  // namespace ragd::http
