#include "ragd/orchestrator/answer_cache.hpp"

#include "ragd/cache/answer_key.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/stage_metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace ragd::orchestrator {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using std::chrono::milliseconds;

AnswerCache::AnswerCache(asio::any_io_executor executor, redis::Client* l2, AnswerCacheConfig config,
                         Compute compute, Render render, StageMetrics& stages, metrics::Registry& m)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      compute_(std::move(compute)),
      render_(std::move(render)),
      stages_(stages),
      tiers_("answers", config_.l2_enabled ? l2 : nullptr, {config_.l1_max_entries, config_.l1_max_bytes, 16}, m,
             config_.key_prefix),
      flights_(executor_),
      results_(m.counter("ragd_answer_cache_total", "Answer cache outcomes: hit, stale, miss, bypass.", {"result"})),
      refreshes_(m.counter("ragd_answer_cache_refreshes_total", "Background refreshes of stale answers by outcome.",
                           {"outcome"})),
      coalesced_(m.counter("ragd_answer_cache_coalesced_total",
                           "Requests that waited on an identical request's computation.")
                     .with()) {}

std::string AnswerCache::key(const Computation& c, std::uint64_t index_version, std::string_view model) {
  cache::AnswerKeyParts parts;
  parts.tenant = c.tenant;
  parts.query = c.query;
  parts.cohort = c.prompt.profile;
  for (const auto& t : c.prompt.history) {
    parts.session_context.push_back(t.question);
    parts.session_context.push_back(t.answer);
  }
  parts.instructions = c.prompt.instructions;
  parts.index_version = index_version;
  parts.prompt_version = kPromptTemplateVersion;
  parts.model = std::string(model);
  parts.top_k = c.top_k;
  parts.retrieval_mode = std::string(retrieval::to_string(c.mode));
  if (c.filter) parts.filter = c.filter->canonical();
  if (c.max_tokens > 0) parts.generation += "max_tokens=" + std::to_string(c.max_tokens) + ";";
  if (c.temperature >= 0) parts.generation += "temperature=" + std::to_string(c.temperature) + ";";
  return cache::answer_key(parts);
}

std::string AnswerCache::encode_value(std::string_view answer, std::string_view body) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), answer.size()).ptr;
  std::string out;
  out.reserve(static_cast<std::size_t>(end - digits) + 1 + answer.size() + body.size());
  out.append(digits, end);
  out += '\n';
  out.append(answer);
  out.append(body);
  return out;
}

std::optional<std::pair<std::string_view, std::string_view>> AnswerCache::decode_value(std::string_view value) {
  // "<length of the answer>\n<answer><body>"; the body is a JSON object.
  std::size_t n = 0;
  const char* const end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, n);
  if (ec != std::errc() || p == end || *p != '\n') return std::nullopt;
  const auto start = static_cast<std::size_t>(p - value.data()) + 1;
  if (n > value.size() - start) return std::nullopt;
  const std::string_view body = value.substr(start + n);
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') return std::nullopt;
  return std::make_pair(value.substr(start, n), body);
}

asio::awaitable<AnswerCache::Found> AnswerCache::lookup(std::string key) {
  Found out;
  const double t0 = mono_ms();
  auto found = co_await tiers_.get(std::move(key));
  out.lookup_ms = mono_ms() - t0;
  stages_.cache_lookup.observe(out.lookup_ms);
  if (!found.entry || found.state == cache::Freshness::expired) co_return out;
  auto parts = decode_value(found.entry->value);
  if (!parts) co_return out;
  out.hit = true;
  out.stale = found.state == cache::Freshness::stale;
  out.age_ms = static_cast<double>(unix_ms() - found.entry->created_unix_ms);
  out.result.rendered = RenderedAnswer{found.entry, parts->second, parts->first};
  co_return out;
}

asio::awaitable<Result<QueryResult>> AnswerCache::compute_and_store(Computation c, std::string key) {
  const std::int64_t soft_ttl_ms = c.soft_ttl_ms;  // compute_ takes c
  const std::int64_t hard_ttl_ms = c.hard_ttl_ms;
  auto r = co_await compute_(std::move(c));
  // An answer from degraded retrieval serves this request but is not kept: the next ask
  // tries the full retrieval again.
  if (r && r->retrieval_degraded.empty()) {
    const auto now = unix_ms();
    auto e = std::make_shared<cache::CacheEntry>();
    e->value = encode_value(r->answer, render_(*r));
    e->created_unix_ms = now;
    e->fresh_until_ms = now + soft_ttl_ms;
    e->stale_until_ms = now + std::max(hard_ttl_ms, soft_ttl_ms);
    // The response splices it: the answer is rendered once.
    if (auto parts = decode_value(e->value)) r->rendered = RenderedAnswer{e, parts->second, parts->first};
    const double t_store = mono_ms();
    co_await tiers_.put(std::move(key), std::move(e));
    r->timings.cache_store = mono_ms() - t_store;
    stages_.cache_store.observe(r->timings.cache_store);
  }
  co_return r;
}

asio::awaitable<Result<QueryResult>> AnswerCache::compute_streamed(Computation c, std::string key,
                                                                  std::shared_ptr<LiveAnswer> live) {
  c.sink = live;
  // On a strand of its own: the race below cancels one branch from the other's completion.
  auto strand = asio::make_strand(executor_);
  auto run = [](AnswerCache* self, Computation c, std::string key,
                std::shared_ptr<LiveAnswer> live) -> asio::awaitable<Result<QueryResult>> {
    auto r = co_await (self->compute_and_store(std::move(c), key) || live->abandoned());
    if (r.index() == 0) co_return std::move(std::get<0>(r));
    co_return make_error(Errc::cancelled, "every request waiting on this answer went away");
  };
  auto r = co_await asio::co_spawn(strand, run(this, std::move(c), key, live), asio::use_awaitable);
  live->finish();
  {
    // Requests joining from now on find the flight's result, not its stream.
    std::lock_guard lock(live_mutex_);
    auto it = live_.find(key);
    if (it != live_.end() && it->second == live) live_.erase(it);
  }
  co_return r;
}

asio::awaitable<AnswerCache::Computed> AnswerCache::compute(std::string key, Computation c) {
  const auto deadline = std::chrono::steady_clock::now() +
                        milliseconds(std::max<std::int64_t>(0, c.deadline_unix_ms - unix_ms()));
  // A streamed request's computation publishes to a LiveAnswer, which the streamed requests
  // joining the same flight subscribe to: they receive the same stream. Joining happens
  // under the flights' lock, so a request subscribes to its own flight's answer or, when
  // that one has just ended, to none (and then has the whole answer with the result). Every
  // request waiting on a streamed flight is counted: when all have gone, it is cancelled.
  std::shared_ptr<AnswerSink> own = std::move(c.sink);
  std::shared_ptr<LiveAnswer> live = own ? std::make_shared<LiveAnswer>(executor_) : nullptr;
  std::shared_ptr<LiveAnswer> joined_live;
  // Named first: GCC 12 destroys a lambda built inside a co_await expression twice.
  cache::SingleFlight<QueryResult>::Make make;
  if (live) {
    make = [this, c = std::move(c), key, live]() { return compute_streamed(c, key, live); };
  } else {
    make = [this, c = std::move(c), key]() { return compute_and_store(c, key); };
  }
  std::function<void(bool)> on_join = [this, &key, &live, &own, &joined_live](bool leader) {
    std::lock_guard lock(live_mutex_);
    if (leader && live) live_[key] = live;
    auto it = live_.find(key);
    if (it == live_.end()) return;
    joined_live = it->second;
    joined_live->hold();
    if (own) joined_live->subscribe(own);
  };
  auto joined = co_await flights_.run(key, std::move(make), deadline, std::move(on_join));
  if (joined_live) {
    if (own) joined_live->unsubscribe(own);
    joined_live->release();
  }
  if (!joined.leader) coalesced_.inc();
  co_return Computed{std::move(joined.result), !joined.leader};
}

void AnswerCache::refresh(const std::string& key, Computation c) {
  {
    std::lock_guard lock(refreshing_mutex_);
    if (!refreshing_.insert(key).second) return;
  }
  c.priority = queue::Priority::refresh;
  c.sink = nullptr;  // a background refresh streams to nobody
  asio::co_spawn(executor_, run_refresh(key, std::move(c)), asio::detached);
}

asio::awaitable<void> AnswerCache::run_refresh(std::string key, Computation c) {
  struct Done {
    AnswerCache* self;
    std::string key;
    ~Done() {
      std::lock_guard lock(self->refreshing_mutex_);
      self->refreshing_.erase(key);
    }
  } done{this, key};
  // Another replica may have refreshed it already: its fresh copy in L2 replaces ours.
  if (co_await tiers_.pull_fresh_from_l2(key)) {
    refreshes_.with({"skipped_fresh_in_l2"}).inc();
    co_return;
  }
  if (!co_await tiers_.try_lock(key, milliseconds(config_.refresh_lock_ms))) {
    refreshes_.with({"skipped_locked"}).inc();
    co_return;
  }
  refreshes_.with({"started"}).inc();
  c.deadline_unix_ms = unix_ms() + config_.refresh_timeout_ms;
  auto r = co_await compute_and_store(std::move(c), key);
  refreshes_.with({r ? "succeeded" : "failed"}).inc();
  if (r) {
    auto grace = std::min(1000, std::max(1, config_.soft_ttl_ms / 2));
    co_await tiers_.expire_lock(key, milliseconds(grace));
  } else {
    // The stale entry keeps serving until its hard expiry (stale-if-error); the lock is
    // kept until it expires, so replicas do not hammer a failing model.
    spdlog::warn("refresh of a stale answer failed: {}", log_text(r.error()));
  }
}

void AnswerCache::count(std::string_view result) { results_.with({result}).inc(); }

}  // namespace ragd::orchestrator
