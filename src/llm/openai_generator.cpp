#include "ragd/llm/openai_generator.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/llm/chat_stream.hpp"
#include "ragd/core/json_reader.hpp"
#include "ragd/core/json_writer.hpp"
#include "ragd/net/retry.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace ragd::llm {

namespace asio = boost::asio;
using std::chrono::milliseconds;


std::string chat_completions_url(std::string_view base_url) {
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0) {
    return base + "/chat/completions";
  }
  return base + "/v1/chat/completions";
}

std::string build_chat_request(const queue::Job& job, const LlmConfig& cfg, bool stream) {
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
      .member("stream", stream);
  if (stream) w.key("stream_options").begin_object().member("include_usage", true).end_object();
  w.end_object();
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
    return make_error(Errc::upstream_error, "LLM returned a body that is not JSON", net::upstream_message(body, 120));
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
    r.prompt_tokens = usage_count(*u, "prompt_tokens");
    r.completion_tokens = usage_count(*u, "completion_tokens");
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

namespace {

using clock = std::chrono::steady_clock;

// The deadline crosses processes as wall-clock time; turn it into the monotonic clock
// once, so a clock step during the call cannot stretch or cut it.
std::optional<clock::time_point> job_deadline(const queue::Job& job) {
  if (job.deadline_unix_ms <= 0) return std::nullopt;
  return clock::now() + milliseconds(job.deadline_unix_ms - unix_ms());
}

}  // namespace

net::HttpRequest OpenAiGenerator::make_request(const queue::Job& job, bool stream) const {
  net::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"},
                 {"Accept", stream ? "text/event-stream" : "application/json"}};
  if (!cfg_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + cfg_.api_key);
  req.body = build_chat_request(job, cfg_, stream);
  return req;
}

net::RetryPolicy OpenAiGenerator::retry_policy() const {
  net::RetryPolicy policy;
  policy.service = "LLM";
  policy.max_attempts = cfg_.max_attempts;
  policy.attempt_timeout = milliseconds(cfg_.timeout_ms);
  policy.backoff_base = options_.backoff_base;
  policy.backoff_cap = options_.backoff_cap;
  return policy;
}

asio::awaitable<Result<GenerateResult>> OpenAiGenerator::generate(queue::Job job) {
  const auto deadline = job_deadline(job);
  net::HttpRequest req = make_request(job, false);
  const std::string requested_model = job.model.empty() ? cfg_.model : job.model;
  auto res = co_await net::send_with_retries(http_, std::move(req), retry_policy(), deadline);
  if (!res) co_return res.error();
  auto parsed = parse_chat_response(res->status, res->body);
  if (!parsed) co_return parsed.error();
  if (parsed->model.empty()) parsed->model = requested_model;
  if (parsed->finish_reason.empty()) parsed->finish_reason = "stop";
  co_return parsed;
}

asio::awaitable<Result<GenerateResult>> OpenAiGenerator::generate_stream(queue::Job job, DeltaSink on_delta) {
  const auto deadline = job_deadline(job);
  net::HttpRequest req = make_request(job, true);
  const std::string requested_model = job.model.empty() ? cfg_.model : job.model;
  // One reader per attempt; an attempt that has handed a delta on is the last one. The
  // reader runs on the HTTP client's strand while the transfer lives; this coroutine reads
  // it only after the transfer has completed.
  struct State {
    std::optional<ChatStreamReader> reader;
    bool started = false;
  };
  auto state = std::make_shared<State>();
  req.on_body = [state, on_delta = std::move(on_delta)](std::string_view bytes) {
    if (!state->reader) state->reader.emplace();
    return state->reader->feed(bytes, [&](std::string_view delta) {
      state->started = true;
      if (on_delta) on_delta(delta);
    });
  };
  net::RetryPolicy policy = retry_policy();
  policy.may_retry = [state] {
    if (state->started) return false;
    state->reader.reset();  // nothing of a failed attempt carries over
    return true;
  };
  auto res = co_await net::send_with_retries(http_, std::move(req), std::move(policy), deadline);
  if (!res && state->reader && state->reader->error()) co_return *state->reader->error();
  if (!res) co_return res.error();
  if (res->status < 200 || res->status > 299) co_return net::http_status_error("LLM", res->status, res->body);
  if (!state->reader) co_return make_error(Errc::upstream_error, "LLM answered the stream with an empty body");
  if (state->reader->error()) co_return *state->reader->error();
  if (!state->reader->done() && state->reader->result().finish_reason.empty()) {
    co_return make_error(Errc::upstream_error, "LLM stream ended before its last event");
  }
  GenerateResult r = state->reader->take_result();
  if (r.model.empty()) r.model = requested_model;
  if (r.finish_reason.empty()) r.finish_reason = "stop";
  co_return r;
}

}  // namespace ragd::llm
