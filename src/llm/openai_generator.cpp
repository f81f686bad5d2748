#include "ragd/llm/openai_generator.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/core/json_writer.hpp"
#include "ragd/net/retry.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ragd::llm {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

int int_field(const json& obj, const char* key) {
  if (auto it = obj.find(key); it != obj.end() && it->is_number_integer()) return it->get<int>();
  return 0;
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
  std::string out;
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object().member("model", job.model.empty() ? cfg.model : job.model);
  w.key("messages").begin_array();
  for (const auto& m : job.messages) {
    w.begin_object().member("role", m.role).member("content", m.content).end_object();
  }
  if (job.messages.empty()) {
    w.begin_object().member("role", "user").member("content", job.question).end_object();
  }
  w.end_array()
      .member("max_tokens", max_tokens)
      .member("temperature", static_cast<double>(job.temperature >= 0 ? job.temperature : cfg.temperature))
      .member("stream", false)
      .end_object();
  return out;
}

Result<GenerateResult> parse_chat_response(int status, std::string_view body) {
  if (status < 200 || status > 299) {
    return net::http_status_error("LLM", status, body);
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::upstream_error,
                      "LLM returned a body that is not JSON: " + net::upstream_message(body, 120));
  }
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    return make_error(Errc::upstream_error, "LLM response has no choices");
  }
  const json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return make_error(Errc::upstream_error, "LLM response has no choices[0].message");
  }
  GenerateResult r;
  if (auto content = message->find("content"); content != message->end() && content->is_string()) {
    r.text = content->get<std::string>();
  } else {
    return make_error(Errc::upstream_error, "LLM response has no text content");
  }
  if (auto m = j.find("model"); m != j.end() && m->is_string()) r.model = m->get<std::string>();
  if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string()) {
    r.finish_reason = f->get<std::string>();
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
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
