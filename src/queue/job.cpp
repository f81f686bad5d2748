// JSON wire format of Job and JobReply. Field names are the struct members' names; unknown
// fields are ignored so that newer gateways and older workers can share a queue (with
// queue.compact_jobs off: see encode_job()).
#include "ragd/queue/job.hpp"

#include "ragd/core/json_reader.hpp"
#include "ragd/core/json_writer.hpp"

#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ragd::queue {

namespace {

std::string_view priority_name(Priority p) {
  switch (p) {
    case Priority::refresh: return "refresh";
    case Priority::batch: return "batch";
    case Priority::interactive: break;
  }
  return "interactive";
}

// Reads optional typed fields from a JSON object; the first problem is kept and names the
// field, so a malformed payload yields one clear Errc::bad_request.
class FieldReader {
 public:
  // `prefix` qualifies field names of nested objects in messages, e.g. "messages[2].".
  FieldReader(JsonValue& obj, std::string_view what, std::string prefix = {})
      : obj_(obj), what_(what), prefix_(std::move(prefix)) {}

  // Strings are moved out of the parsed payload: it is read once.
  template <class T>
  void get(const char* name, T& out, bool required = false) {
    if (error_) return;
    JsonValue* v = obj_.find(name);
    if (v == nullptr || v->is_null()) {
      if (required) fail(name, "is required");
      return;
    }
    if constexpr (std::is_same_v<T, std::string>) {
      if (!v->is_string()) return fail(name, "must be a string");
      out = std::move(v->as_string());
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!v->is_bool()) return fail(name, "must be a boolean");
      out = v->as_bool();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v->is_integer()) return fail(name, "must be an integer");
      const std::int64_t n = v->as_integer();
      bool in_range = false;
      if constexpr (std::is_signed_v<T>) {
        in_range = n >= std::numeric_limits<T>::min() && n <= std::numeric_limits<T>::max();
      } else {
        in_range = n >= 0 && static_cast<std::uint64_t>(n) <= std::numeric_limits<T>::max();
      }
      if (!in_range) return fail(name, "is out of range");
      out = static_cast<T>(n);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v->is_number()) return fail(name, "must be a number");
      out = static_cast<T>(v->as_double());
    }
  }

  JsonValue::Array* array(const char* name) {
    if (error_) return nullptr;
    JsonValue* v = obj_.find(name);
    if (v == nullptr || v->is_null()) return nullptr;
    if (!v->is_array()) {
      fail(name, "must be an array");
      return nullptr;
    }
    return &v->as_array();
  }

  void fail(std::string_view name, std::string_view why) {
    if (!error_) {
      error_ = make_error(Errc::bad_request, std::string(what_) + ": field '" + prefix_ +
                                                 std::string(name) + "' " + std::string(why));
    }
  }
  void adopt(const std::optional<Error>& e) {
    if (!error_ && e) error_ = e;
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  JsonValue& obj_;
  std::string_view what_;
  std::string prefix_;
  std::optional<Error> error_;
};

// `undecoded_member`, when not empty, is read as parse_json()'s three-argument form does.
Result<JsonValue> parse_object(std::string_view payload, std::string_view what,
                               std::string_view undecoded_member = {}, std::string_view* member_text = nullptr) {
  auto j = undecoded_member.empty() ? parse_json(payload) : parse_json(payload, undecoded_member, *member_text);
  if (!j) return make_error(Errc::bad_request, std::string(what) + ": not valid JSON (" + j.error().message + ")");
  if (!j->is_object()) return make_error(Errc::bad_request, std::string(what) + ": not a JSON object");
  return j;
}

// The bodies of the passage fences of `prompt`, in order, at most `max` of them. The format
// is orchestrator::build_prompt()'s: "<<<passage N ...>>>\n" TEXT "\n<<<end passage N>>>\n".
// Its fence_safe() keeps markers out of titles and texts, so a header ends at the first
// ">>>\n" and a text at the first end marker.
std::vector<std::string_view> fenced_passage_texts(std::string_view prompt, std::size_t max) {
  static constexpr std::string_view kOpen = "<<<passage ";
  static constexpr std::string_view kHeaderEnd = ">>>\n";
  static constexpr std::string_view kClose = "\n<<<end passage ";
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (out.size() < max) {
    const std::size_t open = prompt.find(kOpen, pos);
    if (open == std::string_view::npos) break;
    const std::size_t header_end = prompt.find(kHeaderEnd, open);
    if (header_end == std::string_view::npos) break;
    const std::size_t body = header_end + kHeaderEnd.size();
    const std::size_t close = prompt.find(kClose, body);
    if (close == std::string_view::npos) break;
    out.push_back(prompt.substr(body, close - body));
    pos = close + kClose.size();
  }
  return out;
}

// The message whose fences carry the passages: the last one, when it is the user's.
const ChatMessage* prompt_message(const std::vector<ChatMessage>& messages) {
  if (messages.empty() || messages.back().role != "user") return nullptr;
  return &messages.back();
}

}  // namespace

std::string encode_job(const Job& job, bool compact) {
  // Written directly (prompts and passages make a job several kilobytes; a JSON tree and
  // its dump cost several times the text). Invalid UTF-8 is replaced, never thrown on:
  // prompts carry user and document text.
  // Compact only when every passage text is the body of its fence, in order.
  bool in_prompt = false;
  if (compact && !job.passages.empty()) {
    if (const ChatMessage* prompt = prompt_message(job.messages)) {
      const auto fenced = fenced_passage_texts(prompt->content, job.passages.size());
      in_prompt = fenced.size() == job.passages.size();
      for (std::size_t i = 0; in_prompt && i < fenced.size(); ++i) in_prompt = fenced[i] == job.passages[i].text;
    }
  }
  std::string out;
  std::size_t size = 512 + job.question.size();
  for (const auto& m : job.messages) size += 32 + m.content.size();
  for (const auto& p : job.passages) size += 96 + (in_prompt ? 0 : p.text.size()) + p.title.size();
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object()
      .member("id", job.id)
      .member("reply_to", job.reply_to)
      .member("deadline_unix_ms", static_cast<std::int64_t>(job.deadline_unix_ms))
      .member("priority", priority_name(job.priority))
      .member("tenant", job.tenant)
      .member("request_id", job.request_id);
  if (!job.traceparent.empty()) w.member("traceparent", job.traceparent);
  w.member("model", job.model)
      .member("max_tokens", static_cast<std::int64_t>(job.max_tokens))
      .member("temperature", static_cast<double>(job.temperature));
  w.key("messages").begin_array();
  for (const auto& m : job.messages) {
    w.begin_object().member("role", m.role).member("content", m.content).end_object();
  }
  w.end_array();
  w.member("question", job.question);
  w.key("passages").begin_array();
  for (const auto& p : job.passages) {
    w.begin_object()
        .member("doc_id", p.doc_id)
        .member("chunk_id", p.chunk_id)
        .member("title", p.title);
    if (!in_prompt) w.member("text", p.text);
    w.member("score", static_cast<double>(p.score)).end_object();
  }
  w.end_array();
  if (in_prompt) w.member("passages_in_prompt", true);
  w.member("enqueued_unix_ms", static_cast<std::int64_t>(job.enqueued_unix_ms))
      .member("attempt", static_cast<std::int64_t>(job.attempt));
  if (job.stream) w.member("stream", true);
  w.end_object();
  return out;
}

Result<Job> decode_job(const std::string& payload, JobDecoding decoding) {
  const bool forwarding = decoding == JobDecoding::forwarding;
  std::string_view messages_text;
  auto parsed = forwarding ? parse_object(payload, "job", "messages", &messages_text) : parse_object(payload, "job");
  if (!parsed) return parsed.error();
  JsonValue& j = *parsed;
  Job job;
  FieldReader r(j, "job");
  r.get("id", job.id, true);
  r.get("reply_to", job.reply_to, true);
  r.get("deadline_unix_ms", job.deadline_unix_ms, true);
  std::string priority = "interactive";
  r.get("priority", priority);
  if (!r.error()) {
    if (priority == "interactive") {
      job.priority = Priority::interactive;
    } else if (priority == "refresh") {
      job.priority = Priority::refresh;
    } else if (priority == "batch") {
      job.priority = Priority::batch;
    } else {
      r.fail("priority", "must be interactive, refresh or batch");
    }
  }
  r.get("tenant", job.tenant);
  r.get("request_id", job.request_id);
  r.get("traceparent", job.traceparent);
  r.get("model", job.model);
  r.get("max_tokens", job.max_tokens);
  r.get("temperature", job.temperature);
  r.get("question", job.question);
  r.get("enqueued_unix_ms", job.enqueued_unix_ms);
  r.get("attempt", job.attempt);
  r.get("stream", job.stream);
  if (JsonValue::Array* messages = r.array("messages")) {
    if (!forwarding) job.messages.reserve(messages->size());
    for (std::size_t i = 0; i < messages->size(); ++i) {
      JsonValue& m = (*messages)[i];
      std::string where = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) {
        r.fail(where, "must be an object");
        break;
      }
      ChatMessage msg;
      FieldReader mr(m, "job", where + ".");
      mr.get("role", msg.role, true);
      mr.get("content", msg.content, true);
      if (mr.error()) {
        r.adopt(mr.error());
        break;
      }
      // Forwarded text would carry any other member to the model.
      if (forwarding && m.as_object().size() != 2) return decode_job(payload, JobDecoding::full);
      if (!forwarding) job.messages.push_back(std::move(msg));
    }
    if (forwarding && !messages->empty()) job.messages_json.assign(messages_text);
  }
  if (JsonValue::Array* passages = r.array("passages")) {
    job.passages.reserve(passages->size());
    for (std::size_t i = 0; i < passages->size(); ++i) {
      JsonValue& p = (*passages)[i];
      std::string where = "passages[" + std::to_string(i) + "]";
      if (!p.is_object()) {
        r.fail(where, "must be an object");
        break;
      }
      Passage passage;
      FieldReader pr(p, "job", where + ".");
      pr.get("doc_id", passage.doc_id);
      pr.get("chunk_id", passage.chunk_id);
      pr.get("title", passage.title);
      pr.get("text", passage.text);
      pr.get("score", passage.score);
      if (pr.error()) {
        r.adopt(pr.error());
        break;
      }
      job.passages.push_back(std::move(passage));
    }
  }
  bool in_prompt = false;
  r.get("passages_in_prompt", in_prompt);
  if (!r.error() && in_prompt && !forwarding) {
    const ChatMessage* prompt = prompt_message(job.messages);
    const auto fenced = prompt ? fenced_passage_texts(prompt->content, job.passages.size())
                               : std::vector<std::string_view>{};
    if (fenced.size() < job.passages.size()) {
      r.fail("passages_in_prompt", "is set, but the last message holds " + std::to_string(fenced.size()) +
                                       " passage fences for " + std::to_string(job.passages.size()) + " passages");
    } else {
      for (std::size_t i = 0; i < fenced.size(); ++i) job.passages[i].text.assign(fenced[i]);
    }
  }
  if (!r.error() && job.id.empty()) r.fail("id", "must not be empty");
  if (r.error()) return *r.error();
  return job;
}

std::string encode_reply(const JobReply& reply) {
  std::string out;
  out.reserve(256 + reply.text.size() + reply.error_message.size());
  JsonWriter w(out);
  w.begin_object()
      .member("job_id", reply.job_id)
      .member("ok", reply.ok)
      .member("text", reply.text)
      .member("model", reply.model)
      .member("prompt_tokens", static_cast<std::int64_t>(reply.prompt_tokens))
      .member("completion_tokens", static_cast<std::int64_t>(reply.completion_tokens))
      .member("error_code", reply.error_code)
      .member("error_message", reply.error_message)
      .member("queue_wait_ms", static_cast<double>(reply.queue_wait_ms))
      .member("llm_ms", static_cast<double>(reply.llm_ms))
      .member("worker", reply.worker);
  if (!reply.run_id.empty()) w.member("run_id", reply.run_id);
  w.end_object();
  return out;
}

Result<JobReply> decode_reply(const std::string& payload) {
  auto parsed = parse_object(payload, "job reply");
  if (!parsed) return parsed.error();
  JobReply reply;
  FieldReader r(*parsed, "job reply");
  r.get("job_id", reply.job_id, true);
  r.get("ok", reply.ok, true);
  r.get("text", reply.text);
  r.get("model", reply.model);
  r.get("prompt_tokens", reply.prompt_tokens);
  r.get("completion_tokens", reply.completion_tokens);
  r.get("error_code", reply.error_code);
  r.get("error_message", reply.error_message);
  r.get("queue_wait_ms", reply.queue_wait_ms);
  r.get("llm_ms", reply.llm_ms);
  r.get("worker", reply.worker);
  r.get("run_id", reply.run_id);
  if (!r.error() && reply.job_id.empty()) r.fail("job_id", "must not be empty");
  if (r.error()) return *r.error();
  return reply;
}

}  // namespace ragd::queue
