#include "ragd/llm/chat_stream.hpp"

#include "ragd/core/json_reader.hpp"

#include <cstdint>
#include <limits>

namespace ragd::llm {

int usage_count(const JsonValue& usage, std::string_view key) {
  const JsonValue* v = usage.find(key);
  if (v == nullptr || !v->is_integer()) return 0;
  const std::int64_t n = v->as_integer();
  return n >= 0 && n <= std::numeric_limits<int>::max() ? static_cast<int>(n) : 0;
}

bool ChatStreamReader::feed(std::string_view bytes, const DeltaSink& on_delta) {
  while (!error_ && !bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) {
      error_ = make_error(Errc::upstream_error,
                          "LLM stream has a line longer than " + std::to_string(max_line_) + " bytes");
      break;
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      break;
    }
    bytes.remove_prefix(nl + 1);
    if (partial_.empty()) {
      line(piece, on_delta);
    } else {
      partial_.append(piece);
      std::string whole = std::move(partial_);
      partial_.clear();
      line(whole, on_delta);
    }
  }
  return !error_;
}

// Lines per the event stream format (WHATWG HTML, "server-sent events"): "field: value" or
// "field:value"; a blank line ends an event; lines starting with ':' are comments.
void ChatStreamReader::line(std::string_view l, const DeltaSink& on_delta) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (l.empty()) {
    event(on_delta);
    return;
  }
  if (l.front() == ':' || done_) return;
  const std::size_t colon = l.find(':');
  const std::string_view field = l.substr(0, colon);
  if (field != "data") return;  // event, id, retry: nothing a chat stream needs
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

void ChatStreamReader::event(const DeltaSink& on_delta) {
  if (!has_data_) return;
  std::string data = std::move(data_);
  data_.clear();
  has_data_ = false;
  if (done_) return;
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  auto parsed = parse_json(data);
  if (!parsed || !parsed->is_object()) {
    error_ = make_error(Errc::upstream_error, "LLM stream has an event that is not a JSON object");
    return;
  }
  const JsonValue& chunk = *parsed;
  if (const JsonValue* err = chunk.find("error"); err != nullptr && !err->is_null()) {
    std::string said;  // the model server's own words: for the log only
    if (const JsonValue* m = err->is_object() ? err->find("message") : err; m != nullptr && m->is_string()) {
      said = m->as_string().substr(0, 300);
    }
    error_ = make_error(Errc::upstream_error, "LLM reported an error mid-stream", std::move(said));
    return;
  }
  if (const JsonValue* m = chunk.find("model"); m != nullptr && m->is_string() && result_.model.empty()) {
    result_.model = m->as_string();
  }
  if (const JsonValue* u = chunk.find("usage"); u != nullptr && u->is_object()) {
    result_.prompt_tokens = usage_count(*u, "prompt_tokens");
    result_.completion_tokens = usage_count(*u, "completion_tokens");
  }
  const JsonValue* choices = chunk.find("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return;  // the usage chunk
  const JsonValue& choice = choices->as_array()[0];
  if (const JsonValue* f = choice.find("finish_reason"); f != nullptr && f->is_string()) {
    result_.finish_reason = f->as_string();
  }
  const JsonValue* delta = choice.find("delta");
  if (delta == nullptr || !delta->is_object()) return;
  const JsonValue* content = delta->find("content");
  if (content == nullptr || !content->is_string() || content->as_string().empty()) return;
  result_.text += content->as_string();
  if (on_delta) on_delta(content->as_string());
}

}  // namespace ragd::llm
