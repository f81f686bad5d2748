#include "ragd/orchestrator/pipeline.hpp"

#include "ragd/core/await.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/core/json_writer.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/answer_computer.hpp"
#include "ragd/orchestrator/stage_metrics.hpp"
#include "ragd/profile/cached_profile_store.hpp"
#include "ragd/rules/reloadable_rules.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <tuple>
#include <utility>

namespace ragd::orchestrator {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

// A context leg's value and its time; a failed or late leg gives an empty value.
template <class T>
struct Leg {
  T value{};
  double ms = 0;
};

using ProfileLeg = Leg<std::shared_ptr<const profile::Profile>>;
using HistoryLeg = Leg<std::vector<Turn>>;

// What the context step gathered.
struct Context {
  ProfileLeg profile;
  HistoryLeg history;
};

// A streamed request's sink, timing the first piece of the answer handed on.
class TimedSink final : public AnswerSink {
 public:
  TimedSink(std::shared_ptr<AnswerSink> inner, double t_start) : inner_(std::move(inner)), t_start_(t_start) {}
  void sources(const std::vector<retrieval::Hit>& hits) override { inner_->sources(hits); }
  void delta(std::string_view text) override {
    if (first_ms_ < 0 && !text.empty()) first_ms_ = mono_ms() - t_start_;
    inner_->delta(text);
  }
  // Read once the pipeline's computation has returned: no piece comes after it.
  double first_ms() const { return first_ms_.load(); }

 private:
  std::shared_ptr<AnswerSink> inner_;
  double t_start_;
  std::atomic<double> first_ms_{-1};
};

}  // namespace

struct Pipeline::Impl {
  PipelineDeps deps;
  PipelineConfig config;
  StageMetrics stages;
  AnswerComputer computer;
  AnswerCache answers;
  metrics::Family<metrics::Counter>& outcomes;
  metrics::Family<metrics::Counter>& degraded;

  Impl(PipelineDeps d, PipelineConfig c)
      : deps(std::move(d)),
        config(std::move(c)),
        stages(deps.metrics),
        computer(deps.retrieval, deps.jobs, stages, config.model, config.retrieval_timeout_ms),
        answers(
            deps.executor, deps.answers_l2, config.answers,
            [this](Computation comp) { return computer.run(std::move(comp)); }, deps.render, stages, deps.metrics),
        outcomes(deps.metrics.counter("ragd_queries_total", "Queries by outcome.", {"outcome"})),
        degraded(deps.metrics.counter("ragd_degraded_legs_total",
                                      "Optional legs that failed or were late; the query went on without them.",
                                      {"leg"})) {}

  // ---- 2. context ---------------------------------------------------------------------

  asio::awaitable<ProfileLeg> load_profile(std::string tenant, std::string user_id, std::int64_t deadline) {
    const double t0 = mono_ms();
    // A profile cached in this process needs no Redis round trip and so no timeout race.
    if (auto hot = deps.profiles.cached(tenant, user_id)) co_return ProfileLeg{std::move(hot), mono_ms() - t0};
    auto r = co_await with_timeout(deps.profiles.fetch(std::move(tenant), std::move(user_id)),
                                   time_left(deadline, config.context_timeout_ms), "profile lookup");
    if (!r) {
      degraded.with({"profile"}).inc();
      spdlog::debug("profile leg degraded: {}", log_text(r.error()));
      co_return ProfileLeg{nullptr, mono_ms() - t0};
    }
    co_return ProfileLeg{std::move(*r), mono_ms() - t0};
  }

  asio::awaitable<HistoryLeg> load_history(std::string tenant, std::string session_id, std::int64_t deadline) {
    const double t0 = mono_ms();
    auto r = co_await with_timeout(deps.sessions.load(std::move(tenant), std::move(session_id)),
                                   time_left(deadline, config.context_timeout_ms), "session history");
    if (!r) {
      degraded.with({"history"}).inc();
      co_return HistoryLeg{{}, mono_ms() - t0};
    }
    co_return HistoryLeg{std::move(*r), mono_ms() - t0};
  }

  // Profile and session history, in parallel. A leg with nothing to fetch is skipped rather
  // than raced: a parallel group costs two coroutine spawns, which the cache-hit path can do
  // without.
  asio::awaitable<Context> context(std::string tenant, std::string user_id, std::string session_id,
                                   std::int64_t deadline) {
    const bool need_profile = !user_id.empty();
    const bool need_history = !session_id.empty() && deps.sessions.enabled();
    Context ctx;
    if (need_profile && need_history) {
      std::tie(ctx.profile, ctx.history) = co_await (load_profile(tenant, std::move(user_id), deadline) &&
                                                     load_history(tenant, std::move(session_id), deadline));
    } else if (need_profile) {
      ctx.profile = co_await load_profile(std::move(tenant), std::move(user_id), deadline);
    } else if (need_history) {
      ctx.history = co_await load_history(std::move(tenant), std::move(session_id), deadline);
    }
    co_return ctx;
  }

  Computation computation(const QueryRequest& req, const rules::RuleDecision& decision, const Context& ctx) const {
    Computation c;
    c.query = req.query;
    c.top_k = req.top_k > 0 ? req.top_k : config.default_top_k;
    c.mode = deps.retrieval.default_mode();
    if (auto m = retrieval::parse_search_mode(req.mode)) c.mode = *m;
    if (req.filter && !req.filter->empty()) c.filter = req.filter;
    c.tenant = req.tenant;
    c.request_id = req.request_id;
    c.traceparent = req.traceparent;
    c.deadline_unix_ms = req.deadline_unix_ms;
    c.prompt.question = req.query;
    if (ctx.profile.value) c.prompt.profile = *ctx.profile.value;
    c.prompt.instructions = decision.instructions;
    c.prompt.instructions.insert(c.prompt.instructions.end(), req.instructions.begin(), req.instructions.end());
    c.prompt.history = ctx.history.value;
    c.prompt.history.insert(c.prompt.history.end(), req.turns.begin(), req.turns.end());
    c.max_tokens = req.max_tokens;
    c.temperature = req.temperature;
    c.sink = req.sink;
    c.soft_ttl_ms = decision.cache_soft_ttl_ms > 0 ? decision.cache_soft_ttl_ms : config.answers.soft_ttl_ms;
    c.hard_ttl_ms = decision.cache_hard_ttl_ms > 0 ? decision.cache_hard_ttl_ms : config.answers.hard_ttl_ms;
    return c;
  }

  // ---- 3. answer ----------------------------------------------------------------------

  // From the cache when it has the answer (a stale one refreshed in the background), else
  // computed: shared with identical concurrent misses when the cache is on. Fills the
  // result's cache fields.
  asio::awaitable<Result<QueryResult>> answer(CacheMode mode, Computation c) {
    const bool use_cache = answers.enabled() && mode != CacheMode::bypass;
    std::string status = mode == CacheMode::bypass ? "bypass" : "miss";
    std::string key;
    if (use_cache) key = AnswerCache::key(c, deps.retrieval.version(c.tenant), config.model);
    double lookup_ms = 0;
    if (use_cache && mode == CacheMode::use) {
      auto found = co_await answers.lookup(key);
      lookup_ms = found.lookup_ms;
      if (found.hit) {
        status = found.stale ? "stale" : "hit";
        if (found.stale) answers.refresh(key, std::move(c));
        answers.count(status);
        found.result.cache = std::move(status);
        found.result.cache_age_ms = found.age_ms;
        found.result.timings.cache_lookup = lookup_ms;
        co_return std::move(found.result);
      }
    }
    if (deps.jobs.saturated(queue::Priority::interactive)) {
      // Shed before retrieval: the queue could not take the job anyway.
      answers.count(status);
      outcomes.with({"overloaded"}).inc();
      co_return make_error(Errc::overloaded, "the LLM queue is full or backed up; retry later");
    }
    Result<QueryResult> result = make_error(Errc::internal, "no result");
    bool coalesced = false;
    if (use_cache) {
      auto computed = co_await answers.compute(std::move(key), std::move(c));
      result = std::move(computed.result);
      coalesced = computed.coalesced;
    } else {
      result = co_await computer.run(std::move(c));
    }
    answers.count(status);
    if (!result) {
      outcomes.with({std::string(to_string(result.error().code))}).inc();
      co_return result.error();
    }
    result->cache = std::move(status);
    result->coalesced = coalesced;
    result->timings.cache_lookup = lookup_ms;
    co_return result;
  }

  // ---- the query ----------------------------------------------------------------------

  asio::awaitable<Result<QueryResult>> run(QueryRequest req) {
    const double t_start = mono_ms();
    std::shared_ptr<TimedSink> timed;
    if (req.sink) {
      timed = std::make_shared<TimedSink>(std::move(req.sink), t_start);
      req.sink = timed;
    }

    // 1. Plan: the rules look at the query first.
    rules::RuleDecision decision;
    if (deps.rules) decision = deps.rules->evaluate(req.query);
    const double rules_ms = mono_ms() - t_start;
    stages.rules.observe(rules_ms);
    if (decision.action == rules::RuleDecision::Action::block) {
      outcomes.with({"blocked"}).inc();
      co_return make_error(Errc::blocked, decision.message.empty()
                                              ? "this query is not allowed (rule " + decision.rule_id + ")"
                                              : decision.message);
    }
    if (decision.action == rules::RuleDecision::Action::answer) {
      QueryResult out;
      out.request_id = req.request_id;
      out.answer = decision.message;
      out.cache = "rule";
      out.model = "rule:" + decision.rule_id;
      out.rules_matched = decision.matched_rule_ids;
      out.timings.rules = rules_ms;
      out.timings.total = mono_ms() - t_start;
      if (timed) {
        out.timings.first_token = out.timings.total;
        stages.first_token.observe(out.timings.first_token);
      }
      outcomes.with({"rule"}).inc();
      co_return out;
    }

    // 2. Context: profile and session history.
    Context ctx;
    if (!req.user_id.empty() || (!req.session_id.empty() && deps.sessions.enabled())) {
      ctx = co_await context(req.tenant, req.user_id, req.session_id, req.deadline_unix_ms);
    }
    if (!req.user_id.empty()) stages.profile.observe(ctx.profile.ms);
    if (!req.session_id.empty()) stages.history.observe(ctx.history.ms);

    // 3. Answer: cached or computed.
    auto result = co_await answer(req.cache_mode, computation(req, decision, ctx));
    if (!result) co_return result.error();

    // 4. Finish: remember the turn and answer.
    QueryResult out = std::move(*result);
    const bool served = out.cache == "hit" || out.cache == "stale";
    out.request_id = req.request_id;
    out.rules_matched = std::move(decision.matched_rule_ids);
    out.profile_used = ctx.profile.value && !ctx.profile.value->empty();
    out.timings.rules = rules_ms;
    out.timings.profile = ctx.profile.ms;
    out.timings.history = ctx.history.ms;
    if (!req.session_id.empty() && deps.sessions.enabled()) {
      co_await deps.sessions.append(req.tenant, req.session_id, req.query, std::string(out.answer_text()));
    }
    out.timings.total = mono_ms() - t_start;
    stages.total.observe(out.timings.total);
    if (timed) {
      out.timings.first_token = timed->first_ms() >= 0 ? timed->first_ms() : out.timings.total;
      stages.first_token.observe(out.timings.first_token);
    }
    if (!served) {
      out.timings.overhead = std::max(0.0, out.timings.total - out.timings.llm);
      stages.overhead.observe(out.timings.overhead);
    }
    outcomes.with({served ? "cached" : "answered"}).inc();
    co_return out;
  }
};

Pipeline::Pipeline(PipelineDeps deps, PipelineConfig config)
    : impl_(std::make_unique<Impl>(std::move(deps), std::move(config))) {}

Pipeline::~Pipeline() = default;

asio::awaitable<Result<QueryResult>> Pipeline::run(QueryRequest request) {
  return impl_->run(std::move(request));
}

}  // namespace ragd::orchestrator
