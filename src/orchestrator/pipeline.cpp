#include "ragd/orchestrator/pipeline.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/deadline.hpp"
#include "ragd/orchestrator/prompt.hpp"
#include "ragd/profile/profile_store.hpp"
#include "ragd/queue/job_queue.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/retrieval/retriever.hpp"
#include "ragd/rules/rules.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace ragd::orchestrator {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using std::chrono::milliseconds;

namespace {

constexpr int kHistoryTurns = 4;
constexpr std::int64_t kSessionTtlMs = 24LL * 3600 * 1000;

Errc errc_from_reply_code(const std::string& code) {
  if (code == "deadline_exceeded") return Errc::deadline_exceeded;
  if (code == "overloaded" || code == "rate_limited") return Errc::overloaded;
  if (code == "bad_request") return Errc::upstream_error;
  return Errc::upstream_error;
}

milliseconds remaining(std::int64_t deadline_unix_ms, int cap_ms) {
  auto left = deadline_unix_ms - unix_ms();
  return milliseconds(std::max<std::int64_t>(0, std::min<std::int64_t>(left, cap_ms)));
}

struct Leg {
  double ms = 0;
  bool ok = false;
};

}  // namespace

struct Pipeline::Impl {
  PipelineDeps deps;
  GatewayConfig config;
  metrics::Family<metrics::Histogram>& stage;
  metrics::Family<metrics::Counter>& outcomes;
  metrics::Counter& degraded_profile;
  metrics::Counter& degraded_history;

  Impl(PipelineDeps d, GatewayConfig c)
      : deps(std::move(d)), config(std::move(c)),
        stage(deps.metrics.histogram("ragd_stage_duration_ms",
                                     "Time spent in each stage of a query, in milliseconds.",
                                     {"stage"})),
        outcomes(deps.metrics.counter("ragd_queries_total", "Queries by outcome.", {"outcome"})),
        degraded_profile(deps.metrics
                             .counter("ragd_degraded_legs_total",
                                      "Optional legs that failed or were late; the query went on without them.",
                                      {"leg"})
                             .with({"profile"})),
        degraded_history(deps.metrics.counter("ragd_degraded_legs_total", "", {"leg"}).with({"history"})) {}

  asio::awaitable<std::pair<Result<std::vector<retrieval::Hit>>, Leg>> retrieve(std::string query, int k,
                                                                               std::int64_t deadline) {
    double t0 = mono_ms();
    auto r = co_await with_timeout(deps.retriever.search(std::move(query), k),
                                   remaining(deadline, config.retrieval.timeout_ms), "retrieval");
    Leg leg{mono_ms() - t0, r.has_value()};
    co_return std::make_pair(std::move(r), leg);
  }

  asio::awaitable<std::pair<profile::Profile, Leg>> load_profile(std::string user_id, std::int64_t deadline) {
    double t0 = mono_ms();
    if (user_id.empty()) co_return std::make_pair(profile::Profile{}, Leg{0, true});
    auto r = co_await with_timeout(deps.profiles.get(std::move(user_id)),
                                   remaining(deadline, config.profile.timeout_ms), "profile lookup");
    Leg leg{mono_ms() - t0, r.has_value()};
    if (!r) {
      degraded_profile.inc();
      spdlog::debug("profile leg degraded: {}", r.error().message);
      co_return std::make_pair(profile::Profile{}, leg);
    }
    co_return std::make_pair(std::move(*r), leg);
  }

  asio::awaitable<Result<std::vector<Turn>>> fetch_history(std::string session_id) {
    // Commands are built before co_await: GCC 12 miscompiles braced lists inside it.
    redis::Command cmd{"LRANGE", Pipeline::session_key(session_id), std::to_string(-kHistoryTurns), "-1"};
    auto reply = co_await deps.redis.command(std::move(cmd));
    if (!reply) co_return reply.error();
    std::vector<Turn> turns;
    for (const auto& e : reply->elements) {
      auto s = e.as_string();
      if (!s) continue;
      auto j = nlohmann::json::parse(*s, nullptr, false);
      if (j.is_object() && j.contains("q") && j.contains("a") && j["q"].is_string() && j["a"].is_string()) {
        turns.push_back({j["q"].get<std::string>(), j["a"].get<std::string>()});
      }
    }
    co_return turns;
  }

  asio::awaitable<std::pair<std::vector<Turn>, Leg>> load_history(std::string session_id, std::int64_t deadline) {
    double t0 = mono_ms();
    if (session_id.empty()) co_return std::make_pair(std::vector<Turn>{}, Leg{0, true});
    auto r = co_await with_timeout(fetch_history(std::move(session_id)),
                                   remaining(deadline, config.profile.timeout_ms), "session history");
    Leg leg{mono_ms() - t0, r.has_value()};
    if (!r) {
      degraded_history.inc();
      co_return std::make_pair(std::vector<Turn>{}, leg);
    }
    co_return std::make_pair(std::move(*r), leg);
  }

  asio::awaitable<void> append_turn(std::string session_id, std::string question, std::string answer) {
    std::string entry = nlohmann::json{{"q", std::move(question)}, {"a", std::move(answer)}}.dump();
    auto key = Pipeline::session_key(session_id);
    std::vector<redis::Command> cmds{{"RPUSH", key, std::move(entry)},
                                     {"LTRIM", key, std::to_string(-kHistoryTurns), "-1"},
                                     {"PEXPIRE", key, std::to_string(kSessionTtlMs)}};
    auto r = co_await deps.redis.pipeline(std::move(cmds));
    if (!r) spdlog::warn("session history not saved: {}", r.error().message);
  }

  asio::awaitable<Result<QueryResult>> run(QueryRequest req) {
    double t_start = mono_ms();
    QueryResult out;
    out.request_id = req.request_id;
    out.model = config.model;
    const int k = req.top_k > 0 ? req.top_k : config.query.default_top_k;

    // 1. Plan: the rules look at the query first.
    double t0 = mono_ms();
    rules::RuleDecision decision;
    if (deps.rules) decision = deps.rules->evaluate(req.query);
    out.timings.rules = mono_ms() - t0;
    stage.with({"rules"}).observe(out.timings.rules);
    out.rules_matched = decision.matched_rule_ids;
    if (decision.action == rules::RuleDecision::Action::block) {
      outcomes.with({"blocked"}).inc();
      co_return make_error(Errc::blocked, decision.message.empty()
                                              ? "this query is not allowed (rule " + decision.rule_id + ")"
                                              : decision.message);
    }
    if (decision.action == rules::RuleDecision::Action::answer) {
      out.answer = decision.message;
      out.cache = "rule";
      out.model = "rule:" + decision.rule_id;
      out.timings.total = mono_ms() - t_start;
      outcomes.with({"rule"}).inc();
      co_return out;
    }

    // 2. Fan out: retrieval, profile and session history in one co_await.
    auto [retrieved, prof, hist] =
        co_await (retrieve(req.query, k, req.deadline_unix_ms) &&
                  load_profile(req.user_id, req.deadline_unix_ms) &&
                  load_history(req.session_id, req.deadline_unix_ms));
    out.timings.retrieve = retrieved.second.ms;
    out.timings.profile = prof.second.ms;
    out.timings.history = hist.second.ms;
    stage.with({"retrieve"}).observe(out.timings.retrieve);
    if (!req.user_id.empty()) stage.with({"profile"}).observe(out.timings.profile);
    if (!req.session_id.empty()) stage.with({"history"}).observe(out.timings.history);
    if (!retrieved.first) {
      outcomes.with({"retrieval_failed"}).inc();
      co_return retrieved.first.error();
    }
    out.sources = std::move(*retrieved.first);
    out.profile_used = !prof.first.empty();

    // 3. Prompt.
    PromptInput prompt;
    prompt.question = req.query;
    prompt.profile = std::move(prof.first);
    prompt.instructions = decision.instructions;
    prompt.history = std::move(hist.first);
    for (const auto& h : out.sources) {
      prompt.passages.push_back({h.doc_id, h.chunk_id, h.title, h.text, h.score});
    }

    // 4. The LLM job through the queue.
    queue::Job job;
    job.id = random_id();
    job.deadline_unix_ms = req.deadline_unix_ms;
    job.priority = queue::Priority::interactive;
    job.tenant = req.tenant;
    job.request_id = req.request_id;
    job.model = config.model;
    job.question = req.query;
    job.passages = prompt.passages;
    job.messages = build_prompt(prompt);
    job.enqueued_unix_ms = unix_ms();
    double t_queue = mono_ms();
    auto reply = co_await deps.jobs.submit(std::move(job));
    double waited = mono_ms() - t_queue;
    if (!reply) {
      outcomes.with({to_string_outcome(reply.error().code)}).inc();
      co_return reply.error();
    }
    if (!reply->ok) {
      outcomes.with({"llm_failed"}).inc();
      co_return make_error(errc_from_reply_code(reply->error_code),
                           "the model call failed: " + reply->error_message);
    }
    out.answer = std::move(reply->text);
    if (!reply->model.empty()) out.model = reply->model;
    out.prompt_tokens = reply->prompt_tokens;
    out.completion_tokens = reply->completion_tokens;
    out.timings.llm = reply->llm_ms;
    out.timings.queue_wait = std::max(0.0, waited - reply->llm_ms);
    stage.with({"queue_wait"}).observe(out.timings.queue_wait);
    stage.with({"llm"}).observe(out.timings.llm);

    // 5. Remember the turn, answer.
    if (!req.session_id.empty()) co_await append_turn(req.session_id, req.query, out.answer);
    out.timings.total = mono_ms() - t_start;
    stage.with({"total"}).observe(out.timings.total);
    outcomes.with({"answered"}).inc();
    co_return out;
  }

  static std::string to_string_outcome(Errc e) { return std::string(to_string(e)); }
};

Pipeline::Pipeline(PipelineDeps deps, GatewayConfig config)
    : impl_(std::make_unique<Impl>(std::move(deps), std::move(config))) {}

Pipeline::~Pipeline() = default;

asio::awaitable<Result<QueryResult>> Pipeline::run(QueryRequest request) {
  co_return co_await impl_->run(std::move(request));
}

}  // namespace ragd::orchestrator
