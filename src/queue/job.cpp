// JSON wire format of Job and JobReply. Field names are the struct members' names; unknown
// fields are ignored so that newer gateways and older workers can share a queue.
#include "ragd/queue/job.hpp"

#include "ragd/core/json_writer.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ragd::queue {

namespace {

using nlohmann::json;

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
  FieldReader(const json& obj, std::string_view what, std::string prefix = {})
      : obj_(obj), what_(what), prefix_(std::move(prefix)) {}

  template <class T>
  void get(const char* name, T& out, bool required = false) {
    if (error_) return;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) {
      if (required) fail(name, "is required");
      return;
    }
    if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) return fail(name, "must be a string");
      out = it->template get<std::string>();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) return fail(name, "must be a boolean");
      out = it->template get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) return fail(name, "must be an integer");
      if (it->is_number_unsigned() ? it->template get<std::uint64_t>() >
                                         static_cast<std::uint64_t>(std::numeric_limits<T>::max())
                                   : (it->template get<std::int64_t>() < std::numeric_limits<T>::min() ||
                                      it->template get<std::int64_t>() > std::numeric_limits<T>::max())) {
        return fail(name, "is out of range");
      }
      out = it->template get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!it->is_number()) return fail(name, "must be a number");
      out = it->template get<T>();
    }
  }

  const json* array(const char* name) {
    if (error_) return nullptr;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return nullptr;
    if (!it->is_array()) {
      fail(name, "must be an array");
      return nullptr;
    }
    return &*it;
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
  const json& obj_;
  std::string_view what_;
  std::string prefix_;
  std::optional<Error> error_;
};

Result<json> parse_object(const std::string& payload, std::string_view what) {
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::bad_request, std::string(what) + ": not valid JSON");
  if (!j.is_object()) return make_error(Errc::bad_request, std::string(what) + ": not a JSON object");
  return Result<json>(boost::system::in_place_value, std::move(j));
}

}  // namespace

std::string encode_job(const Job& job) {
  // Written directly (prompts and passages make a job several kilobytes; a JSON tree and
  // its dump cost several times the text). Invalid UTF-8 is replaced, never thrown on:
  // prompts carry user and document text.
  std::string out;
  std::size_t size = 512 + job.question.size();
  for (const auto& m : job.messages) size += 32 + m.content.size();
  for (const auto& p : job.passages) size += 96 + p.text.size() + p.title.size();
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object()
      .member("id", job.id)
      .member("reply_to", job.reply_to)
      .member("deadline_unix_ms", static_cast<std::int64_t>(job.deadline_unix_ms))
      .member("priority", priority_name(job.priority))
      .member("tenant", job.tenant)
      .member("request_id", job.request_id)
      .member("model", job.model)
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
        .member("title", p.title)
        .member("text", p.text)
        .member("score", static_cast<double>(p.score))
        .end_object();
  }
  w.end_array();
  w.member("enqueued_unix_ms", static_cast<std::int64_t>(job.enqueued_unix_ms))
      .member("attempt", static_cast<std::int64_t>(job.attempt))
      .end_object();
  return out;
}

Result<Job> decode_job(const std::string& payload) {
  auto parsed = parse_object(payload, "job");
  if (!parsed) return parsed.error();
  const json& j = *parsed;
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
  r.get("model", job.model);
  r.get("max_tokens", job.max_tokens);
  r.get("temperature", job.temperature);
  r.get("question", job.question);
  r.get("enqueued_unix_ms", job.enqueued_unix_ms);
  r.get("attempt", job.attempt);
  if (const json* messages = r.array("messages")) {
    for (std::size_t i = 0; i < messages->size(); ++i) {
      const json& m = (*messages)[i];
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
      job.messages.push_back(std::move(msg));
    }
  }
  if (const json* passages = r.array("passages")) {
    for (std::size_t i = 0; i < passages->size(); ++i) {
      const json& p = (*passages)[i];
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
  if (!r.error() && job.id.empty()) r.fail("id", "must not be empty");
  if (r.error()) return *r.error();
  return job;
}

std::string encode_reply(const JobReply& reply) {
  json j = {{"job_id", reply.job_id},
            {"ok", reply.ok},
            {"text", reply.text},
            {"model", reply.model},
            {"prompt_tokens", reply.prompt_tokens},
            {"completion_tokens", reply.completion_tokens},
            {"error_code", reply.error_code},
            {"error_message", reply.error_message},
            {"queue_wait_ms", reply.queue_wait_ms},
            {"llm_ms", reply.llm_ms},
            {"worker", reply.worker}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
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
  if (!r.error() && reply.job_id.empty()) r.fail("job_id", "must not be empty");
  if (r.error()) return *r.error();
  return reply;
}

}  // namespace ragd::queue
