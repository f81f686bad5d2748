#include "ragd/http/chat_api.hpp"

#include "ragd/core/json_writer.hpp"
#include "ragd/http/api.hpp"
#include "ragd/retrieval/retrieval_config.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <set>

namespace ragd::http {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxMessages = 256;

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

// A message's content: a string, or an array of {"type": "text", "text": str} parts.
Result<std::string> content_text(const json& m, const std::string& at) {
  auto c = m.find("content");
  if (c == m.end() || c->is_null()) return bad("'" + at + ".content' is required");
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) return bad("'" + at + ".content' must be a string or an array of text parts");
  std::string text;
  for (std::size_t i = 0; i < c->size(); ++i) {
    const json& part = (*c)[i];
    auto type = part.is_object() ? part.find("type") : part.end();
    auto t = part.is_object() ? part.find("text") : part.end();
    if (type == part.end() || *type != "text" || t == part.end() || !t->is_string()) {
      return bad("'" + at + ".content[" + std::to_string(i) + "]' must be {\"type\": \"text\", \"text\": string}");
    }
    if (!text.empty()) text += '\n';
    text += t->get<std::string>();
  }
  return text;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

Result<void> parse_messages(const json& messages, const QueryConfig& limits, orchestrator::QueryRequest& q) {
  if (!messages.is_array() || messages.empty()) return bad("'messages' must be a non-empty array");
  if (messages.size() > kMaxMessages) return bad("at most " + std::to_string(kMaxMessages) + " messages");
  std::vector<std::pair<std::string, std::string>> turns;  // role, text
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad("'" + at + "' must be an object");
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.key() != "role" && it.key() != "content" && it.key() != "name") {
        return bad("unknown field '" + at + "." + it.key() + "'");
      }
    }
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return bad("'" + at + ".role' must be a string");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant") {
      return bad("'" + at + ".role' must be \"system\", \"developer\", \"user\" or \"assistant\"");
    }
    auto text = content_text(m, at);
    if (!text) return text.error();
    turns.emplace_back(r, std::move(*text));
  }
  if (turns.back().first != "user") return bad("the last message must be the user's question");
  q.query = std::move(turns.back().second);
  turns.pop_back();
  if (blank(q.query)) return bad("the last user message must not be empty");
  if (utf8_length(q.query) > limits.max_query_chars) {
    return bad("the last user message is longer than " + std::to_string(limits.max_query_chars) + " characters");
  }
  // Earlier messages: instructions, and turns of a user message and the assistant's reply.
  for (auto& [role, text] : turns) {
    if (role == "system" || role == "developer") {
      q.instructions.push_back(std::move(text));
    } else if (role == "user") {
      q.turns.push_back({std::move(text), ""});
    } else if (!q.turns.empty() && q.turns.back().answer.empty()) {
      q.turns.back().answer = std::move(text);
    } else {
      q.turns.push_back({"", std::move(text)});
    }
  }
  return {};
}

Result<std::string> id_field(const json& j, const char* name, std::size_t max_chars) {
  auto v = j.find(name);
  if (v == j.end() || v->is_null()) return std::string();
  if (!v->is_string()) return bad(std::string("'") + name + "' must be a string");
  std::string s = v->get<std::string>();
  if (utf8_length(s) > max_chars) {
    return bad(std::string("'") + name + "' is longer than " + std::to_string(max_chars) + " characters");
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return bad(std::string("'") + name + "' contains control characters");
  }
  return s;
}

void write_chunk_head(JsonWriter& w, const ChatIdentity& id) {
  w.member("id", id.id)
      .member("object", "chat.completion.chunk")
      .member("created", id.created)
      .member("model", id.model);
}

// One chunk's fields but "ragd": the head, the choice's delta (`role` and `content` when
// given), its finish reason (null when none), and "usage": null when usage comes in a chunk
// of its own.
void write_chunk(JsonWriter& w, const ChatIdentity& id, const char* role, std::optional<std::string_view> content,
                 const char* finish_reason, bool include_usage) {
  write_chunk_head(w, id);
  w.key("choices").begin_array().begin_object().member("index", 0).key("delta").begin_object();
  if (role != nullptr) w.member("role", role);
  if (content) w.member("content", *content);
  w.end_object().key("logprobs").null().key("finish_reason");
  if (finish_reason != nullptr) {
    w.value(finish_reason);
  } else {
    w.null();
  }
  w.end_object().end_array();
  if (include_usage) w.key("usage").null();
}

void write_usage(JsonWriter& w, const AnswerParts& parts) {
  w.key("usage")
      .begin_object()
      .member("prompt_tokens", parts.prompt_tokens)
      .member("completion_tokens", parts.completion_tokens)
      .member("total_tokens", parts.prompt_tokens + parts.completion_tokens)
      .end_object();
}

std::string data_event(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size() + 8);
  out += "data: ";
  out += json_text;
  out += "\n\n";
  return out;
}

}  // namespace

Result<ChatRequest> parse_chat_body(std::string_view body, const QueryConfig& limits) {
  if (body.empty()) return bad("request body is empty; expected a JSON object");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("request body is not valid JSON");
  if (!j.is_object()) return bad("request body must be a JSON object");
  static const std::set<std::string, std::less<>> known = {
      "messages", "model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
      "user", "n", "session_id", "top_k", "mode", "cache", "filter",
      // Accepted and ignored: they tune sampling, not what is asked.
      "top_p", "presence_penalty", "frequency_penalty", "seed", "stop", "logit_bias", "store", "metadata"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!known.count(it.key())) return bad("unknown or unsupported field '" + it.key() + "'");
  }
  ChatRequest out;
  auto& q = out.query;
  auto model = j.find("model");
  if (model == j.end() || !model->is_string() || model->get<std::string>().empty()) {
    return bad("'model' is required: a model name from GET /v1/models");
  }
  out.model = model->get<std::string>();
  auto messages = j.find("messages");
  if (messages == j.end()) return bad("'messages' is required");
  if (auto r = parse_messages(*messages, limits, q); !r) return r.error();
  if (auto s = j.find("stream"); s != j.end() && !s->is_null()) {
    if (!s->is_boolean()) return bad("'stream' must be true or false");
    q.stream = s->get<bool>();
  }
  if (auto so = j.find("stream_options"); so != j.end() && !so->is_null()) {
    if (!so->is_object()) return bad("'stream_options' must be an object");
    for (auto it = so->begin(); it != so->end(); ++it) {
      if (it.key() != "include_usage") return bad("unknown field 'stream_options." + it.key() + "'");
      if (!it->is_boolean()) return bad("'stream_options.include_usage' must be true or false");
      out.include_usage = it->get<bool>();
    }
  }
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    auto m = j.find(name);
    if (m == j.end() || m->is_null()) continue;
    if (!m->is_number_integer() || m->get<std::int64_t>() < 1 || m->get<std::int64_t>() > 1000000) {
      return bad(std::string("'") + name + "' must be an integer from 1 to 1000000");
    }
    q.max_tokens = static_cast<int>(m->get<std::int64_t>());
  }
  if (auto t = j.find("temperature"); t != j.end() && !t->is_null()) {
    if (!t->is_number() || t->get<double>() < 0 || t->get<double>() > 2) {
      return bad("'temperature' must be a number from 0 to 2");
    }
    q.temperature = t->get<double>();
  }
  if (auto n = j.find("n"); n != j.end() && !n->is_null()) {
    if (!n->is_number_integer() || n->get<std::int64_t>() != 1) return bad("'n' must be 1: one choice per request");
  }
  auto user = id_field(j, "user", limits.max_id_chars);
  if (!user) return user.error();
  q.user_id = std::move(*user);
  auto session = id_field(j, "session_id", limits.max_id_chars);
  if (!session) return session.error();
  q.session_id = std::move(*session);
  if (auto k = j.find("top_k"); k != j.end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<std::int64_t>() < 1 || k->get<std::int64_t>() > limits.max_top_k) {
      return bad("'top_k' must be between 1 and " + std::to_string(limits.max_top_k));
    }
    q.top_k = static_cast<int>(k->get<std::int64_t>());
  }
  if (auto m = j.find("mode"); m != j.end() && !m->is_null()) {
    if (!m->is_string() || !retrieval::parse_search_mode(m->get<std::string>())) {
      return bad("'mode' must be \"dense\", \"lexical\" or \"hybrid\"");
    }
    q.mode = m->get<std::string>();
  }
  if (auto f = j.find("filter"); f != j.end() && !f->is_null()) {
    auto filter = parse_filter(*f);
    if (!filter) return filter.error();
    q.filter = std::move(*filter);
  }
  if (auto c = j.find("cache"); c != j.end() && !c->is_null()) {
    const std::string mode = c->is_string() ? c->get<std::string>() : "";
    if (mode == "use") q.cache_mode = orchestrator::CacheMode::use;
    else if (mode == "bypass") q.cache_mode = orchestrator::CacheMode::bypass;
    else if (mode == "refresh") q.cache_mode = orchestrator::CacheMode::refresh;
    else return bad("'cache' must be \"use\", \"bypass\" or \"refresh\"");
  }
  return out;
}

Error model_not_found(const std::string& model) {
  return make_error(Errc::not_found, "The model '" + model + "' does not exist; GET /v1/models lists the models served");
}

std::string model_not_found_body(const std::string& model) {
  json j = {{"error",
             {{"type", "invalid_request_error"},
              {"code", "model_not_found"},
              {"param", "model"},
              {"message", model_not_found(model).message}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void write_ragd_object(JsonWriter& w, const orchestrator::QueryResult& r, std::string_view sources_json) {
  w.key("ragd").begin_object();
  write_query_fields(w, r);
  if (!sources_json.empty()) w.key("sources").raw(sources_json);
  w.end_object();
}

std::string render_chat_completion(const ChatIdentity& id, const orchestrator::QueryResult& r,
                                   const AnswerParts& parts) {
  std::string out;
  out.reserve(512 + parts.answer.size() + parts.sources_json.size());
  JsonWriter w(out);
  w.begin_object()
      .member("id", id.id)
      .member("object", "chat.completion")
      .member("created", id.created)
      .member("model", id.model)
      .key("choices")
      .begin_array()
      .begin_object()
      .member("index", 0)
      .key("message")
      .begin_object()
      .member("role", "assistant")
      .member("content", parts.answer)
      .end_object()
      .key("logprobs")
      .null()
      .member("finish_reason", "stop")
      .end_object()
      .end_array();
  write_usage(w, parts);
  write_ragd_object(w, r, parts.sources_json);
  w.end_object();
  return out;
}

std::string render_models(const std::vector<std::string>& models) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().member("object", "list").key("data").begin_array();
  for (const auto& m : models) {
    w.begin_object()
        .member("id", m)
        .member("object", "model")
        .member("created", std::int64_t{0})
        .member("owned_by", "ragd")
        .end_object();
  }
  w.end_array().end_object();
  return out;
}

std::string chat_chunk_first(const ChatIdentity& id, std::string_view sources_json, bool include_usage) {
  std::string data;
  JsonWriter w(data);
  w.begin_object();
  write_chunk(w, id, "assistant", "", nullptr, include_usage);
  w.key("ragd").begin_object().key("sources").raw(sources_json).end_object();
  w.end_object();
  return data_event(data);
}

std::string chat_chunk_delta(const ChatIdentity& id, std::string_view text, bool include_usage) {
  std::string data;
  JsonWriter w(data);
  w.begin_object();
  write_chunk(w, id, nullptr, text, nullptr, include_usage);
  w.end_object();
  return data_event(data);
}

std::string chat_chunk_last(const ChatIdentity& id, const orchestrator::QueryResult& r, const AnswerParts& parts,
                            bool include_usage) {
  std::string data;
  JsonWriter w(data);
  w.begin_object();
  write_chunk(w, id, nullptr, std::nullopt, "stop", include_usage);
  write_ragd_object(w, r, {});
  w.end_object();
  std::string out = data_event(data);
  if (include_usage) {
    data.clear();
    JsonWriter u(data);
    u.begin_object();
    write_chunk_head(u, id);
    u.key("choices").begin_array().end_array();
    write_usage(u, parts);
    u.end_object();
    out += data_event(data);
  }
  out += "data: [DONE]\n\n";
  return out;
}

std::string chat_chunk_error(const Error& e) { return data_event(error_body(e)); }

}  // namespace ragd::http
