#include "ragd/llm/openai_generator.hpp"

#include "ragd/core/ids.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

namespace ragd::llm {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kMaxUpstreamMessageChars = 300;

std::string truncate(std::string s, std::size_t n) {
  if (s.size() > n) {
    s.resize(n);
    s += "...";
  }
  return s;
}

double jitter_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// The upstream's own words about a failure, from the shapes servers use:
// {"error":{"message":..}}, {"error":".."}, {"message":..}, {"detail":..}, or raw text.
std::string upstream_message(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object()) {
        if (auto m = e->find("message"); m != e->end() && m->is_string()) return m->get<std::string>();
      } else if (e->is_string()) {
        return e->get<std::string>();
      }
    }
    for (const char* key : {"message", "detail"}) {
      if (auto m = j.find(key); m != j.end() && m->is_string()) return m->get<std::string>();
    }
  }
  std::string raw(body);
  std::replace(raw.begin(), raw.end(), '\n', ' ');
  return raw;
}

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
  json messages = json::array();
  for (const auto& m : job.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  if (messages.empty()) messages.push_back({{"role", "user"}, {"content", job.question}});
  int max_tokens = cfg.max_tokens;
  if (job.max_tokens > 0) max_tokens = cfg.max_tokens > 0 ? std::min(job.max_tokens, cfg.max_tokens) : job.max_tokens;
  json body = {
      {"model", job.model.empty() ? cfg.model : job.model},
      {"messages", std::move(messages)},
      {"max_tokens", max_tokens},
      {"temperature", job.temperature >= 0 ? job.temperature : cfg.temperature},
      {"stream", false},
  };
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<GenerateResult> parse_chat_response(int status, std::string_view body) {
  if (status < 200 || status > 299) {
    return make_error(Errc::upstream_error,
                      "LLM returned HTTP " + std::to_string(status) + ": " +
                          truncate(upstream_message(body), kMaxUpstreamMessageChars));
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::upstream_error, "LLM returned a body that is not JSON: " +
                                                truncate(std::string(body), 120));
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

std::optional<milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(std::min(seconds, 86400.0) * 1000.0));
}

milliseconds backoff_delay(int retry, double unit, milliseconds base, milliseconds cap) {
  retry = std::clamp(retry, 1, 30);
  double ceiling = static_cast<double>(base.count()) * std::pow(2.0, retry - 1);
  ceiling = std::min(ceiling, static_cast<double>(cap.count()));
  unit = std::clamp(unit, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(ceiling / 2 + unit * ceiling / 2));
}

OpenAiGenerator::OpenAiGenerator(asio::any_io_executor ex, LlmConfig cfg, OpenAiGeneratorOptions options)
    : cfg_(std::move(cfg)), options_(options), url_(chat_completions_url(cfg_.base_url)), http_(std::move(ex)) {}

asio::awaitable<Result<GenerateResult>> OpenAiGenerator::generate(queue::Job job) {
  using clock = std::chrono::steady_clock;
  // The deadline crosses processes as wall-clock time; turn it into the monotonic clock
  // once, so a clock step during the call cannot stretch or cut it.
  std::optional<clock::time_point> deadline;
  if (job.deadline_unix_ms > 0) deadline = clock::now() + milliseconds(job.deadline_unix_ms - unix_ms());
  auto remaining = [&] {
    return deadline ? std::chrono::duration_cast<milliseconds>(*deadline - clock::now()) : milliseconds::max();
  };
  auto deadline_error = [](const std::string& detail) {
    return make_error(Errc::deadline_exceeded,
                      "LLM did not answer before the deadline" + (detail.empty() ? "" : " (" + detail + ")"));
  };

  HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!cfg_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + cfg_.api_key);
  req.body = build_chat_request(job, cfg_);
  const std::string requested_model = job.model.empty() ? cfg_.model : job.model;

  const int attempts = std::max(1, cfg_.max_attempts);
  std::optional<Error> last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    const milliseconds left = remaining();
    if (left <= milliseconds(0)) co_return deadline_error(last ? last->message : "");
    req.timeout = cfg_.timeout_ms > 0 ? std::min(milliseconds(cfg_.timeout_ms), left) : left;

    std::optional<milliseconds> server_delay;
    auto res = co_await http_.request(req);
    if (!res) {
      const Error& e = res.error();
      if (e.code == Errc::cancelled || e.code == Errc::bad_request) co_return e;
      if (e.code == Errc::deadline_exceeded && remaining() <= milliseconds(0)) co_return deadline_error("");
      last = e;  // a per-call timeout or a connection failure: worth another try
    } else {
      auto parsed = parse_chat_response(res->status, res->body);
      if (parsed) {
        if (parsed->model.empty()) parsed->model = requested_model;
        if (parsed->finish_reason.empty()) parsed->finish_reason = "stop";
        co_return parsed;
      }
      last = parsed.error();
      const int status = res->status;
      if (status == 429) {
        server_delay = parse_retry_after(res->header("retry-after"));
      } else if (status < 500 || status > 599) {
        co_return *last;  // the request itself is wrong; repeating it changes nothing
      }
    }
    if (attempt == attempts) break;

    const milliseconds delay =
        server_delay ? *server_delay
                     : backoff_delay(attempt, jitter_unit(), options_.backoff_base, options_.backoff_cap);
    // Sleeping into the deadline only to fail there helps nobody: give the caller the
    // real reason now.
    if (deadline && clock::now() + delay >= *deadline) break;
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return make_error(Errc::cancelled, "LLM call cancelled");
  }
  if (last && last->code == Errc::deadline_exceeded) co_return deadline_error(last->message);
  co_return *last;
}

}  // namespace ragd::llm
