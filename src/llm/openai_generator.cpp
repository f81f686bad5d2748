#include "ragd/llm/openai_generator.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/core/json_reader.hpp"
#include "ragd/core/json_writer.hpp"
#include "ragd/net/retry.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace ragd::llm {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// A token count; 0 when absent, not an integer or out of range.
int int_field(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.find(key);
  if (v == nullptr || !v->is_integer()) return 0;
  const std::int64_t n = v->as_integer();
  return n >= 0 && n <= std::numeric_limits<int>::max() ? static_cast<int>(n) : 0;
}

}  // namespace

std::string chat_completions_url(std::string_view base_url) {
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0) {
    return base + "/chat/completions";
  }
  return base + "/v1/chat/completions";
}

std::string build_chat_request(const queue::Job& job, const LlmConfig& cfg) {
  // Written directly: the prompt is several kilobytes, and a JSON tree plus its dump cost
  // several times the text (this was a tenth of the worker's CPU).
  int max_tokens = cfg.max_tokens;
  if (job.max_tokens > 0) max_tokens = cfg.max_tokens > 0 ? std::min(job.max_tokens, cfg.max_tokens) : job.max_tokens;
  std::size_t size = 160 + job.model.size() + cfg.model.size() + job.question.size();
  for (const auto& m : job.messages) size += 32 + m.content.size();
  size += job.messages_json.size();
  std::string out;
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object().member("model", job.model.empty() ? cfg.model : job.model);
  w.key("messages");
  if (!job.messages_json.empty()) {
    // The array as the job carried it; decode_job()'s forwarding mode checked that its
    // messages have a role and a content and nothing else.
    w.raw(job.messages_json);
  } else {
    w.begin_array();
    for (const auto& m : job.messages) {
      w.begin_object().member("role", m.role).member("content", m.content).end_object();
    }
    if (job.messages.empty()) {
      w.begin_object().member("role", "user").member("content", job.question).end_object();
    }
    w.end_array();
  }
  w.member("max_tokens", max_tokens)
      .member("temperature", static_cast<double>(job.temperature >= 0 ? job.temperature : cfg.temperature))
      .member("stream", false)
      .end_object();
  return out;
}

Result<GenerateResult> parse_chat_response(int status, std::string_view body) {
  if (status < 200 || status > 299) {
    return net::http_status_error("LLM", status, body);
  }
  // The project's reader, not a general-purpose tree: the answer is the one long string
  // here, and the reader copies plain runs of it sixteen bytes at a time.
  auto parsed = parse_json(body);
  if (!parsed || !parsed->is_object()) {
    return make_error(Errc::upstream_error,
                      "LLM returned a body that is not JSON: " + net::upstream_message(body, 120));
  }
  JsonValue& j = *parsed;
  JsonValue* choices = j.find("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty() ||
      !choices->as_array()[0].is_object()) {
    return make_error(Errc::upstream_error, "LLM response has no choices");
  }
  JsonValue& choice = choices->as_array()[0];
  JsonValue* message = choice.find("message");
  if (message == nullptr || !message->is_object()) {
    return make_error(Errc::upstream_error, "LLM response has no choices[0].message");
  }
  GenerateResult r;
  if (JsonValue* content = message->find("content"); content != nullptr && content->is_string()) {
    r.text = std::move(content->as_string());
  } else {
    return make_error(Errc::upstream_error, "LLM response has no text content");
  }
  if (const JsonValue* m = j.find("model"); m != nullptr && m->is_string()) r.model = m->as_string();
  if (const JsonValue* f = choice.find("finish_reason"); f != nullptr && f->is_string()) {
    r.finish_reason = f->as_string();
  }
  if (const JsonValue* u = j.find("usage"); u != nullptr && u->is_object()) {
    r.prompt_tokens = int_field(*u, "prompt_tokens");
    r.completion_tokens = int_field(*u, "completion_tokens");
  }
  return r;
}

namespace {

net::HttpClientOptions http_options(const LlmConfig& cfg) {
  net::HttpClientOptions o;
  if (cfg.max_idle_connections > 0) o.max_idle_connections = cfg.max_idle_connections;
  return o;
}

}  // namespace

OpenAiGenerator::OpenAiGenerator(asio::any_io_executor ex, LlmConfig cfg, OpenAiGeneratorOptions options)
    : cfg_(std::move(cfg)), options_(options), url_(chat_completions_url(cfg_.base_url)),
      http_(std::move(ex), http_options(cfg_)) {}

asio::awaitable<Result<GenerateResult>> OpenAiGenerator::generate(queue::Job job) {
  using clock = std::chrono::steady_clock;
  // The deadline crosses processes as wall-clock time; turn it into the monotonic clock
  // once, so a clock step during the call cannot stretch or cut it.
  std::optional<clock::time_point> deadline;
  if (job.deadline_unix_ms > 0) deadline = clock::now() + milliseconds(job.deadline_unix_ms - unix_ms());
  net::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!cfg_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + cfg_.api_key);
  req.body = build_chat_request(job, cfg_);
  const std::string requested_model = job.model.empty() ? cfg_.model : job.model;

  net::RetryPolicy policy;
  policy.service = "LLM";
  policy.max_attempts = cfg_.max_attempts;
  policy.attempt_timeout = milliseconds(cfg_.timeout_ms);
  policy.backoff_base = options_.backoff_base;
  policy.backoff_cap = options_.backoff_cap;
  auto res = co_await net::send_with_retries(http_, std::move(req), std::move(policy), deadline);
  if (!res) co_return res.error();
  auto parsed = parse_chat_response(res->status, res->body);
  if (!parsed) co_return parsed.error();
  if (parsed->model.empty()) parsed->model = requested_model;
  if (parsed->finish_reason.empty()) parsed->finish_reason = "stop";
  co_return parsed;
}

}  // namespace ragd::llm
