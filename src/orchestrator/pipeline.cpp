#include "ragd/orchestrator/pipeline.hpp"

#include "ragd/cache/answer_key.hpp"
#include "ragd/cache/single_flight.hpp"
#include "ragd/cache/tiered_cache.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/core/with_timeout.hpp"
#include "ragd/core/json_writer.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/prompt.hpp"
#include "ragd/profile/profile_store.hpp"
#include "ragd/queue/job_queue.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/orchestrator/session_history.hpp"
#include "ragd/retrieval/retriever.hpp"
#include "ragd/rules/rules.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace ragd::orchestrator {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

Errc errc_from_reply_code(const std::string& code) {
  if (code == "deadline_exceeded") return Errc::deadline_exceeded;
  if (code == "overloaded" || code == "rate_limited") return Errc::overloaded;
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

// What a computation needs, by value: it may outlive the request that started it (single
// flight, background refresh).
struct Computation {
  std::string query;
  int top_k = 0;
  retrieval::SearchMode mode = retrieval::SearchMode::hybrid;
  std::string tenant;
  std::string request_id;
  std::int64_t deadline_unix_ms = 0;
  queue::Priority priority = queue::Priority::interactive;
  PromptInput prompt;  // profile, instructions and history filled in; passages added later
  std::int64_t soft_ttl_ms = 0;  // answer-cache lifetimes (from the config or a rule)
  std::int64_t hard_ttl_ms = 0;
};

// The answer text of a cached body (needed only to append the turn to a session).
std::string answer_of(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("answer") && j["answer"].is_string()) return j["answer"].get<std::string>();
  return {};
}

bool plausible_body(const std::string& body) {
  return body.size() >= 2 && body.front() == '{' && body.back() == '}';
}

}  // namespace

std::string render_answer_body(const QueryResult& r) {
  // Written directly: passages make this several kilobytes, and a JSON tree plus its dump
  // cost several times more than the text.
  std::string out;
  std::size_t size = 256 + r.answer.size();
  for (const auto& h : r.sources) size += 128 + h.text.size() + h.title.size() + h.metadata.size();
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object().member("answer", r.answer).member("model", r.model);
  w.key("sources").begin_array();
  for (const auto& h : r.sources) {
    w.begin_object()
        .member("doc_id", h.doc_id)
        .member("chunk_id", h.chunk_id)
        .member("title", h.title)
        .member("score", static_cast<double>(h.score))
        .member("text", h.text);
    // Stored as the JSON text of an object the ingest validated.
    if (!h.metadata.empty()) w.key("metadata").raw(h.metadata);
    w.end_object();
  }
  w.end_array();
  w.key("usage")
      .begin_object()
      .member("prompt_tokens", static_cast<std::int64_t>(r.prompt_tokens))
      .member("completion_tokens", static_cast<std::int64_t>(r.completion_tokens))
      .member("total_tokens", static_cast<std::int64_t>(r.prompt_tokens + r.completion_tokens))
      .end_object();
  w.end_object();
  return out;
}

struct Pipeline::Impl {
  PipelineDeps deps;
  GatewayConfig config;
  asio::any_io_executor ex;
  cache::TieredCache answers;
  cache::TieredCache profiles;
  cache::LruCache sessions;  // L1 mirror of session histories (session_history.hpp)
  cache::SingleFlight<QueryResult> flights;
  std::mutex refreshing_mutex;
  std::set<std::string> refreshing;

  // One series per stage, looked up once: Family::with() takes a lock and searches a map,
  // which a query would otherwise pay a dozen times.
  struct StageSeries {
    metrics::Histogram &rules, &profile, &history, &cache_lookup, &retrieve, &queue_wait, &queue_pickup,
        &queue_enqueue, &llm, &cache_store, &overhead, &total;

    explicit StageSeries(metrics::Family<metrics::Histogram>& f)
        : rules(f.with({"rules"})), profile(f.with({"profile"})), history(f.with({"history"})),
          cache_lookup(f.with({"cache_lookup"})), retrieve(f.with({"retrieve"})), queue_wait(f.with({"queue_wait"})),
          queue_pickup(f.with({"queue_pickup"})), queue_enqueue(f.with({"queue_enqueue"})), llm(f.with({"llm"})),
          cache_store(f.with({"cache_store"})), overhead(f.with({"overhead"})), total(f.with({"total"})) {}
  };
  StageSeries stage;
  metrics::Family<metrics::Counter>& outcomes;
  metrics::Family<metrics::Counter>& degraded;
  metrics::Family<metrics::Counter>& answer_results;
  metrics::Family<metrics::Counter>& refreshes;
  metrics::Counter& coalesced;
  metrics::Counter& session_l1_hits;
  metrics::Counter& session_misses;

  Impl(PipelineDeps d, GatewayConfig c)
      : deps(std::move(d)), config(std::move(c)), ex(deps.executor),
        answers("answers", config.cache.l2_enabled ? &deps.redis : nullptr,
                {config.cache.l1_max_entries, config.cache.l1_max_bytes, 16}, deps.metrics,
                config.redis.key_prefix),
        profiles("profiles", nullptr, {100000, 64u << 20, 16}, deps.metrics, config.redis.key_prefix),
        sessions({std::max<std::size_t>(1, config.cache.session_l1_max_entries), 64u << 20, 16}),
        flights(ex),
        stage(deps.metrics.histogram("ragd_stage_duration_ms",
                                     "Time spent in each stage of a query, in milliseconds.", {"stage"})),
        outcomes(deps.metrics.counter("ragd_queries_total", "Queries by outcome.", {"outcome"})),
        degraded(deps.metrics.counter("ragd_degraded_legs_total",
                                      "Optional legs that failed or were late; the query went on without them.",
                                      {"leg"})),
        answer_results(deps.metrics.counter("ragd_answer_cache_total",
                                            "Answer cache outcomes: hit, stale, miss, bypass.", {"result"})),
        refreshes(deps.metrics.counter("ragd_answer_cache_refreshes_total",
                                       "Background refreshes of stale answers by outcome.", {"outcome"})),
        coalesced(deps.metrics.counter("ragd_answer_cache_coalesced_total",
                                       "Requests that waited on an identical request's computation.")
                      .with()),
        session_l1_hits(deps.metrics.counter("ragd_cache_lookups_total", "Cache lookups by cache and result.",
                                             {"cache", "result"})
                            .with({"session", "l1_hit"})),
        session_misses(deps.metrics.counter("ragd_cache_lookups_total", "", {"cache", "result"})
                           .with({"session", "miss"})) {}

  bool mirror_sessions() const { return config.cache.session_l1_max_entries > 0; }

  void remember_session(const std::string& session_id, SessionSnapshot s) {
    auto e = std::make_shared<cache::CacheEntry>();
    e->value = encode_session(s);
    e->created_unix_ms = unix_ms();
    e->fresh_until_ms = e->created_unix_ms + config.cache.session_ttl_ms;
    e->stale_until_ms = e->fresh_until_ms;
    sessions.put(session_id, std::move(e));
  }

  static std::int64_t count_of(const redis::Reply& r) {
    if (r.kind == redis::Reply::Kind::integer) return r.integer;
    std::int64_t n = 0;
    if (auto s = r.as_string()) std::from_chars(s->data(), s->data() + s->size(), n);
    return n;  // nil (no append yet, or expired): 0
  }

  // ---- context legs ------------------------------------------------------------------

  std::optional<profile::Profile> profile_from_l1(const std::string& user_id) {
    if (config.cache.profile_ttl_ms <= 0) return std::nullopt;
    auto e = profiles.get_l1(user_id);
    if (!e) return std::nullopt;
    auto j = json::parse(e->value, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    profile::Profile p;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string()) p[it.key()] = it->get<std::string>();
    }
    return p;
  }

  asio::awaitable<Result<profile::Profile>> cached_profile(std::string user_id) {
    auto r = co_await deps.profiles.get(user_id);
    if (r && config.cache.profile_ttl_ms > 0) {
      auto now = unix_ms();
      auto e = std::make_shared<cache::CacheEntry>();
      e->value = json(*r).dump();
      e->created_unix_ms = now;
      e->fresh_until_ms = e->stale_until_ms = now + config.cache.profile_ttl_ms;
      profiles.put_l1(user_id, std::move(e));
    }
    co_return r;
  }

  asio::awaitable<std::pair<profile::Profile, Leg>> load_profile(std::string user_id, std::int64_t deadline) {
    double t0 = mono_ms();
    if (user_id.empty()) co_return std::make_pair(profile::Profile{}, Leg{0, true});
    // A profile cached in this process needs no Redis round trip and so no timeout race.
    if (auto hot = profile_from_l1(user_id)) co_return std::make_pair(std::move(*hot), Leg{mono_ms() - t0, true});
    auto r = co_await with_timeout(cached_profile(std::move(user_id)),
                                   remaining(deadline, config.profile.timeout_ms), "profile lookup");
    Leg leg{mono_ms() - t0, r.has_value()};
    if (!r) {
      degraded.with({"profile"}).inc();
      spdlog::debug("profile leg degraded: {}", r.error().message);
      co_return std::make_pair(profile::Profile{}, leg);
    }
    co_return std::make_pair(std::move(*r), leg);
  }

  asio::awaitable<Result<std::vector<Turn>>> fetch_history(std::string session_id) {
    const std::string key = Pipeline::session_key(config.redis.key_prefix, session_id);
    const std::string count_key = key + ":n";
    std::optional<SessionSnapshot> mirrored;
    if (mirror_sessions()) {
      if (auto e = sessions.get(session_id, unix_ms())) mirrored = decode_session(e->value);
    }
    if (mirrored) {
      // Commands are built before co_await: GCC 12 miscompiles braced lists inside it.
      redis::Command get{"GET", count_key};
      auto count = co_await deps.redis.command(std::move(get));
      if (!count) co_return count.error();
      if (count_of(*count) == mirrored->version) {
        session_l1_hits.inc();
        co_return std::move(mirrored->turns);
      }
    }
    // The count first: see session_history.hpp for why the order matters.
    std::vector<redis::Command> cmds{{"GET", count_key},
                                     {"LRANGE", key, std::to_string(-config.cache.session_turns), "-1"}};
    auto reply = co_await deps.redis.pipeline(std::move(cmds));
    if (!reply) co_return reply.error();
    session_misses.inc();
    SessionSnapshot snapshot;
    snapshot.version = reply->size() == 2 ? count_of((*reply)[0]) : 0;
    if (reply->size() == 2) {
      for (const auto& e : (*reply)[1].elements) {
        auto s = e.as_string();
        if (!s) continue;
        auto j = json::parse(*s, nullptr, false);
        if (j.is_object() && j.contains("q") && j.contains("a") && j["q"].is_string() && j["a"].is_string()) {
          snapshot.turns.push_back({j["q"].get<std::string>(), j["a"].get<std::string>()});
        }
      }
    }
    if (mirror_sessions()) remember_session(session_id, snapshot);
    co_return std::move(snapshot.turns);
  }

  asio::awaitable<std::pair<std::vector<Turn>, Leg>> load_history(std::string session_id, std::int64_t deadline) {
    double t0 = mono_ms();
    if (session_id.empty() || config.cache.session_turns == 0) {
      co_return std::make_pair(std::vector<Turn>{}, Leg{0, true});
    }
    auto r = co_await with_timeout(fetch_history(std::move(session_id)),
                                   remaining(deadline, config.profile.timeout_ms), "session history");
    Leg leg{mono_ms() - t0, r.has_value()};
    if (!r) {
      degraded.with({"history"}).inc();
      co_return std::make_pair(std::vector<Turn>{}, leg);
    }
    co_return std::make_pair(std::move(*r), leg);
  }

  // Appends, trims, bumps the append count and renews both expiries in one step; returns
  // the new count.
  static constexpr const char* kAppendTurnScript = R"lua(
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return n
)lua";

  asio::awaitable<void> append_turn(std::string session_id, std::string question, std::string answer) {
    std::string entry = json{{"q", question}, {"a", answer}}.dump(-1, ' ', false, json::error_handler_t::replace);
    const std::string key = Pipeline::session_key(config.redis.key_prefix, session_id);
    const int keep = std::max(1, config.cache.session_turns);
    std::optional<SessionSnapshot> mirrored;
    if (mirror_sessions()) {
      if (auto e = sessions.get(session_id, unix_ms())) mirrored = decode_session(e->value);
    }
    redis::Command cmd = redis::make_command("EVAL", kAppendTurnScript, 2, key, key + ":n", std::move(entry), keep,
                                             config.cache.session_ttl_ms);
    auto r = co_await deps.redis.command(std::move(cmd));
    if (!r || r->is_error()) {
      spdlog::warn("session history not saved: {}", r ? r->str : r.error().message);
      sessions.erase(session_id);
      co_return;
    }
    if (!mirror_sessions()) co_return;
    const std::int64_t count = count_of(*r);
    if (mirrored && mirrored->version == count - 1) {
      // Nobody appended since this gateway read the turns: the mirror follows without a read.
      remember_session(session_id, {count, append_and_trim(std::move(mirrored->turns),
                                                           {std::move(question), std::move(answer)}, keep)});
    } else {
      sessions.erase(session_id);
    }
  }

  // ---- the computation: retrieval, prompt, LLM ----------------------------------------

  asio::awaitable<Result<QueryResult>> compute(Computation c) {
    QueryResult out;
    out.model = config.model;
    double t0 = mono_ms();
    auto found = co_await deps.retriever.retrieve(c.query, c.top_k, c.mode,
                                                  remaining(c.deadline_unix_ms, config.retrieval.timeout_ms));
    out.timings.retrieve = mono_ms() - t0;
    stage.retrieve.observe(out.timings.retrieve);
    if (!found) co_return found.error();
    out.sources = std::move(found->hits);
    if (found->degraded) out.retrieval_degraded = found->degraded_reason.empty() ? "unknown" : found->degraded_reason;
    for (const auto& h : out.sources) c.prompt.passages.push_back({h.doc_id, h.chunk_id, h.title, h.text, h.score});

    queue::Job job;
    job.id = random_id();
    job.deadline_unix_ms = c.deadline_unix_ms;
    job.priority = c.priority;
    job.tenant = c.tenant;
    job.request_id = c.request_id;
    job.model = config.model;
    job.question = c.query;
    job.messages = build_prompt(c.prompt);
    job.passages = std::move(c.prompt.passages);
    job.enqueued_unix_ms = unix_ms();
    double t_queue = mono_ms();
    auto reply = co_await deps.jobs.submit(std::move(job));
    double waited = mono_ms() - t_queue;
    if (!reply) co_return reply.error();
    if (!reply->ok) {
      co_return make_error(errc_from_reply_code(reply->error_code), "the model call failed: " + reply->error_message);
    }
    out.answer = std::move(reply->text);
    if (!reply->model.empty()) out.model = reply->model;
    out.prompt_tokens = reply->prompt_tokens;
    out.completion_tokens = reply->completion_tokens;
    out.timings.llm = reply->llm_ms;
    out.timings.queue_wait = std::max(0.0, waited - reply->llm_ms);
    stage.queue_wait.observe(out.timings.queue_wait);
    // The part of queue_wait before a worker took the job (the worker's clock against ours),
    // and the part of that before Redis had it (Redis's clock against ours): pickup minus
    // enqueue is the time in the stream, which grows when the workers are short.
    stage.queue_pickup.observe(reply->queue_wait_ms);
    if (reply->enqueue_ms >= 0) stage.queue_enqueue.observe(reply->enqueue_ms);
    stage.llm.observe(out.timings.llm);
    co_return out;
  }

  std::shared_ptr<const cache::CacheEntry> make_entry(const QueryResult& r, std::int64_t soft_ttl_ms,
                                                      std::int64_t hard_ttl_ms) const {
    auto now = unix_ms();
    auto e = std::make_shared<cache::CacheEntry>();
    e->value = render_answer_body(r);
    e->created_unix_ms = now;
    e->fresh_until_ms = now + soft_ttl_ms;
    e->stale_until_ms = now + std::max(hard_ttl_ms, soft_ttl_ms);
    return e;
  }

  asio::awaitable<Result<QueryResult>> compute_and_store(Computation c, std::string key) {
    const std::int64_t soft_ttl_ms = c.soft_ttl_ms;  // compute() takes c
    const std::int64_t hard_ttl_ms = c.hard_ttl_ms;
    auto r = co_await compute(std::move(c));
    // An answer from degraded retrieval serves this request but is not kept: the next ask
    // tries the full retrieval again.
    if (r && !key.empty() && r->retrieval_degraded.empty()) {
      auto entry = make_entry(*r, soft_ttl_ms, hard_ttl_ms);
      // The response splices it: the answer is rendered once.
      r->cached_body = std::shared_ptr<const std::string>(entry, &entry->value);
      const double t_store = mono_ms();
      co_await answers.put(key, std::move(entry));
      r->timings.cache_store = mono_ms() - t_store;
      stage.cache_store.observe(r->timings.cache_store);
    }
    co_return r;
  }

  // One background refresh per key: the in-process set, then the Redis lock across replicas.
  void start_refresh(const std::string& key, Computation c) {
    {
      std::lock_guard lock(refreshing_mutex);
      if (!refreshing.insert(key).second) return;
    }
    c.priority = queue::Priority::refresh;
    asio::co_spawn(ex, refresh(key, std::move(c)), asio::detached);
  }

  asio::awaitable<void> refresh(std::string key, Computation c) {
    struct Done {
      Impl* self;
      std::string key;
      ~Done() {
        std::lock_guard lock(self->refreshing_mutex);
        self->refreshing.erase(key);
      }
    } done{this, key};
    // Another replica may have refreshed it already: its fresh copy in L2 replaces ours.
    if (co_await answers.pull_fresh_from_l2(key)) {
      refreshes.with({"skipped_fresh_in_l2"}).inc();
      co_return;
    }
    if (!co_await answers.try_lock(key, milliseconds(config.cache.refresh_lock_ms))) {
      refreshes.with({"skipped_locked"}).inc();
      co_return;
    }
    refreshes.with({"started"}).inc();
    c.deadline_unix_ms = unix_ms() + config.server.request_timeout_ms;
    auto r = co_await compute_and_store(std::move(c), key);
    refreshes.with({r ? "succeeded" : "failed"}).inc();
    if (r) {
      auto grace = std::min(1000, std::max(1, config.cache.soft_ttl_ms / 2));
      co_await answers.expire_lock(key, milliseconds(grace));
    } else {
      // The stale entry keeps serving until its hard expiry (stale-if-error); the lock is
      // kept until it expires, so replicas do not hammer a failing model.
      spdlog::warn("refresh of a stale answer failed: {}", r.error().message);
    }
  }

  // ---- the query ----------------------------------------------------------------------

  asio::awaitable<Result<QueryResult>> run(QueryRequest req) {
    double t_start = mono_ms();
    const int k = req.top_k > 0 ? req.top_k : config.query.default_top_k;

    // 1. Plan: the rules look at the query first.
    double t0 = mono_ms();
    rules::RuleDecision decision;
    if (deps.rules) decision = deps.rules->evaluate(req.query);
    const double rules_ms = mono_ms() - t0;
    stage.rules.observe(rules_ms);
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
      outcomes.with({"rule"}).inc();
      co_return out;
    }

    // 2. Context: profile and session history, in parallel.
    // A leg with nothing to fetch is skipped rather than raced: a parallel group costs two
    // coroutine spawns, which the cache-hit path can do without.
    const bool need_profile = !req.user_id.empty();
    const bool need_history = !req.session_id.empty() && config.cache.session_turns > 0;
    std::pair<profile::Profile, Leg> prof{profile::Profile{}, Leg{0, true}};
    std::pair<std::vector<Turn>, Leg> hist{std::vector<Turn>{}, Leg{0, true}};
    if (need_profile && need_history) {
      std::tie(prof, hist) = co_await (load_profile(req.user_id, req.deadline_unix_ms) &&
                                       load_history(req.session_id, req.deadline_unix_ms));
    } else if (need_profile) {
      prof = co_await load_profile(req.user_id, req.deadline_unix_ms);
    } else if (need_history) {
      hist = co_await load_history(req.session_id, req.deadline_unix_ms);
    }
    if (!req.user_id.empty()) stage.profile.observe(prof.second.ms);
    if (!req.session_id.empty()) stage.history.observe(hist.second.ms);

    Computation c;
    c.query = req.query;
    c.top_k = k;
    c.mode = deps.retriever.default_mode();
    if (auto m = retrieval::parse_search_mode(req.mode)) c.mode = *m;
    c.tenant = req.tenant;
    c.request_id = req.request_id;
    c.deadline_unix_ms = req.deadline_unix_ms;
    c.prompt.question = req.query;
    c.prompt.profile = prof.first;
    c.prompt.instructions = decision.instructions;
    c.prompt.history = hist.first;
    c.soft_ttl_ms = decision.cache_soft_ttl_ms > 0 ? decision.cache_soft_ttl_ms : config.cache.soft_ttl_ms;
    c.hard_ttl_ms = decision.cache_hard_ttl_ms > 0 ? decision.cache_hard_ttl_ms : config.cache.hard_ttl_ms;

    // 3. Answer cache.
    const bool use_cache = config.cache.enabled && req.cache_mode != CacheMode::bypass;
    std::string key;
    Result<QueryResult> result = make_error(Errc::internal, "no result");
    bool coalesced_wait = false;
    std::string cache_status = req.cache_mode == CacheMode::bypass ? "bypass" : "miss";
    double age_ms = -1;
    if (use_cache) {
      cache::AnswerKeyParts parts;
      parts.tenant = req.tenant;
      parts.query = req.query;
      parts.cohort = prof.first;
      for (const auto& t : hist.first) {
        parts.session_context.push_back(t.question);
        parts.session_context.push_back(t.answer);
      }
      parts.instructions = decision.instructions;
      parts.index_version = deps.retriever.version();
      parts.prompt_version = kPromptTemplateVersion;
      parts.model = config.model;
      parts.top_k = k;
      parts.retrieval_mode = std::string(retrieval::to_string(c.mode));
      key = cache::answer_key(parts);
    }
    bool served = false;
    double lookup_ms = 0;
    if (use_cache && req.cache_mode == CacheMode::use) {
      const double t_lookup = mono_ms();
      auto found = co_await answers.get(key);
      lookup_ms = mono_ms() - t_lookup;
      stage.cache_lookup.observe(lookup_ms);
      QueryResult cached;
      if (found.entry && found.state != cache::Freshness::expired && plausible_body(found.entry->value)) {
        cached.cached_body = std::shared_ptr<const std::string>(found.entry, &found.entry->value);
        if (!req.session_id.empty()) cached.answer = answer_of(*cached.cached_body);
        served = true;
        age_ms = static_cast<double>(unix_ms() - found.entry->created_unix_ms);
        if (found.state == cache::Freshness::stale) {
          cache_status = "stale";
          start_refresh(key, c);
        } else {
          cache_status = "hit";
        }
        result = std::move(cached);
      }
    }
    if (!served && deps.jobs.saturated(queue::Priority::interactive)) {
      // Shed before retrieval: the queue could not take the job anyway.
      answer_results.with({cache_status}).inc();
      outcomes.with({"overloaded"}).inc();
      co_return make_error(Errc::overloaded, "the LLM queue is full or backed up; retry later");
    }
    if (!served) {
      // 4. Compute; identical concurrent misses share one computation.
      if (use_cache) {
        auto deadline = std::chrono::steady_clock::now() +
                        milliseconds(std::max<std::int64_t>(0, req.deadline_unix_ms - unix_ms()));
        // Named first: GCC 12 destroys a lambda built inside a co_await expression twice.
        cache::SingleFlight<QueryResult>::Make make = [this, c, key]() { return compute_and_store(c, key); };
        auto joined = co_await flights.run(key, std::move(make), deadline);
        result = std::move(joined.result);
        coalesced_wait = !joined.leader;
        if (coalesced_wait) coalesced.inc();
      } else {
        result = co_await compute(c);
      }
    }
    answer_results.with({cache_status}).inc();
    if (!result) {
      outcomes.with({std::string(to_string(result.error().code))}).inc();
      co_return result.error();
    }

    // 5. Remember the turn and answer.
    QueryResult out = std::move(*result);
    out.request_id = req.request_id;
    out.cache = cache_status;
    out.cache_age_ms = age_ms;
    out.coalesced = coalesced_wait;
    out.rules_matched = decision.matched_rule_ids;
    out.profile_used = !prof.first.empty();
    out.timings.rules = rules_ms;
    out.timings.profile = prof.second.ms;
    out.timings.history = hist.second.ms;
    if (served) out.timings.retrieve = out.timings.queue_wait = out.timings.llm = out.timings.cache_store = 0;
    out.timings.cache_lookup = lookup_ms;
    if (!req.session_id.empty() && config.cache.session_turns > 0) {
      co_await append_turn(req.session_id, req.query, out.answer);
    }
    out.timings.total = mono_ms() - t_start;
    stage.total.observe(out.timings.total);
    if (!served) {
      out.timings.overhead = std::max(0.0, out.timings.total - out.timings.llm);
      stage.overhead.observe(out.timings.overhead);
    }
    outcomes.with({served ? "cached" : "answered"}).inc();
    co_return out;
  }
};

Pipeline::Pipeline(PipelineDeps deps, GatewayConfig config)
    : impl_(std::make_unique<Impl>(std::move(deps), std::move(config))) {}

Pipeline::~Pipeline() = default;

asio::awaitable<Result<QueryResult>> Pipeline::run(QueryRequest request) {
  co_return co_await impl_->run(std::move(request));
}

std::size_t Pipeline::refreshes_in_flight() const {
  std::lock_guard lock(impl_->refreshing_mutex);
  return impl_->refreshing.size();
}

}  // namespace ragd::orchestrator
