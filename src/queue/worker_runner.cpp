// Worker side of the job queue.
//
// Delivery is at-least-once: a job is acknowledged (XACK, then XDEL so that XLEN stays the
// queue depth) only after its reply has been written to the asking gateway's reply stream.
// A worker that dies leaves its jobs pending in the group; live workers take them over as
// soon as its heartbeat lapses (worker_stale_ms: see heartbeat_watch.hpp and claims.hpp), or
// when a job sat idle for reclaim_idle_ms (a consumer that holds jobs but neither runs nor
// renews them); a worker restarted under the same consumer name first re-reads its own
// pending entries (XREADGROUP ... 0). A live worker renews the claim on the jobs it runs, so
// only the jobs of dead or hung workers are taken over. Every delivery is counted; a job
// delivered more than max_attempts times goes to the dead-letter stream and its client gets
// an error. The reply is written once per job id (SET NX guard, in one Lua
// script with the XADD, which also acknowledges the job), so a job that does run twice
// answers once.
// Jobs come from one stream per priority; see read_loop for the order.
//
// The read loop and bookkeeping run on this runner's strand; each job runs as its own
// coroutine on the runner's executor, so handlers of different jobs may run in parallel.
// The file is long because reading, taking over, renewing and answering share that strand's
// state (slots, the jobs running here, the isolation flags); the Lua scripts of take-over
// and renewal live in claims.cpp.
#include "ragd/queue/worker_runner.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/queue/heartbeat_watch.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/core/trace.hpp"
#include "ragd/log/log.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"
#include "queue/claims.hpp"
#include "queue/delta_writer.hpp"
#include "queue/stream_impl.hpp"
#include "ragd/queue/job_stream.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <array>
#include <set>
#include <unordered_map>
#include <utility>

namespace ragd::queue {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kRetryPause = 200ms;
constexpr auto kMinWriteRetry = 15s;
constexpr int kDeadLetterMax = 100000;  // approximate cap of the dead-letter stream
// KEYS[1] reply-done guard, KEYS[2] reply stream, KEYS[3] the job's stream; ARGV: guard ttl
// ms, reply, stream ttl ms, consumer group, entry id. The job is acknowledged and deleted in
// the same step as its reply: one round trip per job instead of two.
// Returns 1 when the reply was written, 0 when the job had been answered already.
constexpr const char* kReplyOnceScript =
    "local written = 0 "
    "if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then "
    "redis.call('XADD', KEYS[2], '*', 'reply', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[2], ARGV[3]) "
    "written = 1 end "
    "redis.call('XACK', KEYS[3], ARGV[4], ARGV[5]) "
    "redis.call('XDEL', KEYS[3], ARGV[5]) "
    "return written";
using Clock = std::chrono::steady_clock;

// The runner's series in a metrics registry; each child looked up once.
struct JobMetrics {
  explicit JobMetrics(metrics::Registry& r)
      : jobs(r.counter("ragd_worker_jobs_total",
                       "Jobs by outcome: answered (a reply was written), retried (left pending to run "
                       "again), dead_lettered, expired (deadline passed before pickup), cancelled "
                       "(deleted by its gateway)",
                       {"outcome"})),
        answered(jobs.with({"answered"})),
        retried(jobs.with({"retried"})),
        dead_lettered(jobs.with({"dead_lettered"})),
        expired(jobs.with({"expired"})),
        cancelled(jobs.with({"cancelled"})),
        dead_reasons(r.counter("ragd_worker_dead_lettered_total",
                               "Jobs moved to the dead-letter stream, by reason: max_attempts, upstream_error, "
                               "internal",
                               {"reason"})),
        model_ms(r.histogram("ragd_worker_model_duration_ms", "Time in the model call of a job").with({})),
        tokens(r.counter("ragd_worker_tokens_total", "Tokens the model reported, by kind (prompt, completion)",
                         {"kind", "model"})),
        in_flight(r.gauge("ragd_worker_jobs_in_flight", "Jobs running in this worker").with({})),
        pickup_ms(r.histogram("ragd_worker_queue_pickup_ms",
                              "Time from a job's creation to a worker taking it (the gateway's clock "
                              "against the worker's)")
                      .with({})) {}

  metrics::Family<metrics::Counter>& jobs;
  metrics::Counter& answered;
  metrics::Counter& retried;
  metrics::Counter& dead_lettered;
  metrics::Counter& expired;
  metrics::Counter& cancelled;
  metrics::Family<metrics::Counter>& dead_reasons;
  metrics::Histogram& model_ms;
  metrics::Family<metrics::Counter>& tokens;
  metrics::Gauge& in_flight;
  metrics::Histogram& pickup_ms;
};
}  // namespace

struct WorkerRunner::Impl : std::enable_shared_from_this<WorkerRunner::Impl> {
  Impl(asio::any_io_executor ex, RedisConfig redis, QueueConfig config, std::string consumer,
       int concurrency, JobHandler handler)
      : ex_(ex),
        strand_(asio::make_strand(ex)),
        redis_(ex, std::move(redis)),
        read_conn_(redis_.dedicated_connection()),
        config_(std::move(config)),
        streams_(priority_streams(config_)),
        dead_stream_(dead_letter_stream(config_)),
        consumer_(consumer.empty() ? "worker-" + random_id().substr(0, 12) : std::move(consumer)),
        concurrency_(std::max(1, concurrency)),
        handler_(std::move(handler)),
        wake_(strand_),
        heartbeat_timer_(strand_),
        renew_timer_(strand_),
        reclaim_idle_(config_.reclaim_idle_ms),
        watch_(std::chrono::milliseconds(config_.worker_stale_ms)) {
    pending_from_.fill("0");
  }

  // Sleeps on the strand until `d` passes or wake_ is cancelled (a job finished, stop()).
  asio::awaitable<void> wait_for_wake(std::chrono::milliseconds d) {
    wake_.expires_after(d);
    co_await wake_.async_wait(kNoThrow);
  }

  // Creates the group on every priority stream. Also the recovery path for NOGROUP: a Redis
  // restart that lost its data loses the groups too.
  asio::awaitable<bool> ensure_groups() {
    while (!stopping_) {
      bool all = true;
      for (const auto& stream : streams_) {
        // Id 0, not $: jobs enqueued before the first worker ever started must be delivered.
        auto r = co_await redis_.command(
            redis::make_command("XGROUP", "CREATE", stream, config_.group, "0", "MKSTREAM"));
        if (r && (!r->is_error() || r->str.starts_with("BUSYGROUP"))) continue;
        spdlog::warn("cannot create consumer group {} on {}: {}", config_.group, stream,
                     r ? r->str : r.error().message);
        all = false;
        break;
      }
      if (all) co_return true;
      co_await wait_for_wake(kRetryPause);
    }
    co_return false;
  }

  static asio::awaitable<void> run_loop(std::shared_ptr<Impl> self) {
    if (self->stopping_ || self->ran_.exchange(true)) co_return;
    // The first heartbeat is written before the first read: a consumer holding jobs without
    // a heartbeat is one that stopped beating (see heartbeat_watch.hpp).
    bool ready = co_await self->ensure_groups();
    if (ready) ready = co_await self->first_beat();
    if (ready) {
      self->background_running_ = 2;
      asio::co_spawn(self->strand_, heartbeat(self), asio::detached);
      asio::co_spawn(self->strand_, renew_claims(self), asio::detached);
      if (self->stream_handler_) {
        self->cancel_conn_ = self->redis_.dedicated_connection();
        ++self->background_running_;
        asio::co_spawn(self->strand_, read_cancels(self), asio::detached);
      }
      co_await self->read_loop();
    }
    // Drain: every job already read is answered before run() returns.
    while (self->in_flight_ > 0 || self->background_running_ > 0) {
      co_await self->wait_for_wake(1s);
    }
    auto r = co_await self->redis_.command(
        redis::make_command("ZREM", workers_key(self->config_), self->consumer_));
    if (!r) spdlog::warn("worker {} could not deregister: {}", self->consumer_, r.error().message);
    self->read_conn_->close();
    self->redis_.close();
    spdlog::info("worker {} stopped processed={}", self->consumer_, self->processed_.load());
  }

  // One pass of reading, highest priority first: each stream is read without blocking and
  // takes the slots left by the ones above it, so a batch job only starts when no interactive
  // or refresh job is waiting. Only when all three are empty does the worker block, on all
  // three at once (COUNT 1 each: at most two jobs beyond `concurrency` may start then).
  // Each stream first re-reads this consumer's own pending entries (a previous run under the
  // same name died holding them), then reads new ones (">").
  asio::awaitable<void> read_loop() {
    const auto timeout = std::chrono::milliseconds(detail::kBlockMs + redis_.config().command_timeout_ms);
    while (!stopping_) {
      const std::int64_t free_slots = concurrency_ - in_flight_;
      if (free_slots <= 0) {
        co_await wait_for_wake(1s);
        continue;
      }
      if (isolating_) {  // a suspect job runs alone
        co_await wait_for_wake(1s);
        continue;
      }
      // Jobs left by dead workers go before new ones: they have waited longest.
      if (!orphans_.empty()) {
        if (co_await take_over(free_slots) > 0) continue;
        if (suspects_waiting_) {
          // A suspect is taken only by a worker with nothing running: stop taking new jobs
          // until the ones running here finish.
          if (in_flight_ > 0) co_await wait_for_wake(1s);
          continue;
        }
      }
      std::int64_t taken = 0;
      bool failed = false;
      bool draining_pending = false;
      // Each stream, highest priority first, takes the slots the ones above it left. Three
      // plain reads, not one Lua script: a script copies every job it returns through Lua
      // strings and leaves them to Lua's collector, which cost Redis about a millisecond a
      // pass under load (with pauses of up to 18 ms), far more than two extra round trips
      // on this connection.
      for (std::size_t i = 0; i < streams_.size() && taken < free_slots && !stopping_; ++i) {
        const std::string from = pending_from_[i];
        auto r = co_await read_conn_->command(
            redis::make_command("XREADGROUP", "GROUP", config_.group, consumer_, "COUNT",
                                free_slots - taken, "STREAMS", streams_[i], from),
            timeout);
        if (!(co_await read_ok(r))) {
          failed = true;
          break;
        }
        auto entries = detail::parse_stream_read(std::move(*r));
        if (from != ">") {
          draining_pending = true;
          if (entries.empty()) {
            pending_from_[i] = ">";
            continue;
          }
          pending_from_[i] = entries.back().id;
        }
        std::vector<std::int64_t> deliveries(entries.size(), 1);
        if (from != ">") deliveries = co_await delivery_counts(streams_[i], entries);
        taken += co_await dispatch(streams_[i], std::move(entries), std::move(deliveries));
      }
      if (stopping_) break;
      if (failed) {
        co_await wait_for_wake(kRetryPause);
        continue;
      }
      if (taken > 0 || draining_pending) continue;
      auto r = co_await read_conn_->command(
          redis::make_command("XREADGROUP", "GROUP", config_.group, consumer_, "COUNT", 1, "BLOCK",
                              detail::kBlockMs, "STREAMS", streams_[0], streams_[1], streams_[2],
                              ">", ">", ">"),
          timeout);
      if (!(co_await read_ok(r))) {
        if (!stopping_) co_await wait_for_wake(kRetryPause);
        continue;
      }
      for (auto& batch : parse_streams_read(std::move(*r))) {
        std::vector<std::int64_t> first(batch.records.size(), 1);
        co_await dispatch(std::move(batch.stream), std::move(batch.records), std::move(first));
      }
    }
  }

  // False for a transport error or an error reply; NOGROUP re-creates the groups.
  asio::awaitable<bool> read_ok(const Result<redis::Reply>& r) {
    if (!r) {
      if (!stopping_) spdlog::warn("worker {} cannot read jobs: {}", consumer_, r.error().message);
      co_return false;
    }
    if (r->is_error()) {
      spdlog::warn("worker {} XREADGROUP failed: {}", consumer_, r->str);
      if (r->str.starts_with("NOGROUP")) {
        pending_from_.fill("0");
        co_await ensure_groups();
      }
      co_return false;
    }
    co_return true;
  }

  // Starts a coroutine per entry (deliveries[i]: entries[i]'s delivery count, this one
  // included); returns how many started.
  asio::awaitable<std::int64_t> dispatch(std::string stream, std::vector<detail::StreamEntry> entries,
                                         std::vector<std::int64_t> deliveries) {
    std::int64_t started = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      auto& e = entries[i];
      if (active_.contains({stream, e.id})) continue;  // already running here
      if (e.deleted) {  // pending, but the entry itself is gone (its gateway cancelled it)
        if (metrics_) metrics_->cancelled.inc();
        co_await acknowledge(stream, e.id);
        continue;
      }
      ++in_flight_;
      ++started;
      active_.insert({stream, e.id});
      asio::co_spawn(ex_, process(shared_from_this(), stream, std::move(e), deliveries[i]), asio::detached);
    }
    co_return started;
  }

  // Delivery counts from XPENDING (one pipelined round trip). Unknown counts are taken as 2:
  // a re-delivered entry ran at least once before.
  asio::awaitable<std::vector<std::int64_t>> delivery_counts(std::string stream,
                                                             const std::vector<detail::StreamEntry>& entries) {
    std::vector<std::int64_t> out(entries.size(), 2);
    if (entries.empty()) co_return out;
    std::vector<redis::Command> cmds;
    cmds.reserve(entries.size());
    for (const auto& e : entries) {
      cmds.push_back(redis::make_command("XPENDING", stream, config_.group, e.id, e.id, 1));
    }
    auto r = co_await redis_.pipeline(std::move(cmds));
    if (!r) co_return out;
    for (std::size_t i = 0; i < out.size() && i < r->size(); ++i) {
      if (auto n = parse_pending_deliveries((*r)[i])) out[i] = std::max<std::int64_t>(1, *n);
    }
    co_return out;
  }

  // One look at the group: which consumers are dead (their
  // heartbeat lapsed: see heartbeat_watch.hpp), and whether a job sat idle past
  // reclaim_idle_ (its consumer neither runs nor renews it). Both become orphans_ for the
  // read loop to take over.
  asio::awaitable<void> look_for_orphans() {
    std::vector<redis::Command> cmds;
    // The group's consumers are read before the heartbeats: a worker writes its first
    // heartbeat before it joins the group, so every consumer seen here has one to be seen.
    for (const auto& stream : streams_) {
      cmds.push_back(redis::make_command("XINFO", "CONSUMERS", stream, config_.group));
    }
    cmds.push_back(redis::make_command("ZRANGE", workers_key(config_), 0, -1, "WITHSCORES"));
    if (reclaim_idle_.count() > 0) {
      for (const auto& stream : streams_) {
        cmds.push_back(redis::make_command("XPENDING", stream, config_.group, "IDLE", reclaim_idle_.count(), "-",
                                           "+", 1));
      }
    }
    auto r = co_await redis_.pipeline(std::move(cmds));
    if (!r) co_return;
    std::vector<std::string> consumers;
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      if ((*r)[i].is_error()) co_return;  // NOGROUP: the read loop re-creates the groups
      for (auto& c : parse_group_consumers((*r)[i])) {
        if (c.name != consumer_) consumers.push_back(std::move(c.name));
      }
    }
    const auto heartbeats = parse_heartbeats((*r)[streams_.size()]);
    std::set<std::string> found;
    for (auto& name : watch_.dead(consumers, heartbeats, Clock::now())) found.insert(std::move(name));
    for (std::size_t i = streams_.size() + 1; i < r->size(); ++i) {
      const auto& idle = (*r)[i];
      if (idle.is_array() && !idle.elements.empty()) found.insert(std::string());
    }
    if (found.empty()) co_return;
    for (const auto& name : found) {
      if (!name.empty() && !orphans_.contains(name)) {
        spdlog::info("worker {} found consumer {} dead (no heartbeat for {} ms); taking its jobs over", consumer_,
                     name, config_.worker_stale_ms);
      }
    }
    orphans_.insert(found.begin(), found.end());
    wake_.cancel();
  }

  // Takes over the jobs of orphans_ (up to `budget`, highest priority first) and starts them.
  // An owner is dropped from orphans_ once nothing of its is left to take (look_for_orphans
  // finds it again if need be); suspects_waiting_ says whether jobs are left that only a
  // worker with nothing running may take. Returns how many jobs started.
  asio::awaitable<std::int64_t> take_over(std::int64_t budget) {
    std::int64_t started = 0;
    bool suspects = false;
    for (auto it = orphans_.begin(); it != orphans_.end() && !stopping_ && !isolating_;) {
      const std::string owner = *it;  // "" = jobs idle past reclaim_idle_, any owner
      const auto min_idle = owner.empty() ? reclaim_idle_ : std::chrono::milliseconds(0);
      std::int64_t left = 0;
      bool failed = false;
      for (const auto& stream : streams_) {
        if (isolating_ || started >= budget) {
          left = 1;  // not looked at: keep the owner
          break;
        }
        const bool alone = in_flight_ == 0 && started == 0;
        auto r = co_await redis_.command(
            detail::take_over_command(stream, config_, consumer_, owner, min_idle, budget - started, alone));
        std::optional<detail::Claimed> claimed;
        if (r && !r->is_error()) claimed = detail::parse_take_over(std::move(*r));
        if (!claimed) {
          spdlog::warn("worker {} cannot take over jobs on {}: {}", consumer_, stream,
                       !r ? r.error().message : r->is_error() ? r->str : "unexpected reply");
          failed = true;
          break;
        }
        left += claimed->left;
        suspects = suspects || claimed->suspects > 0;
        bool suspect = false;
        for (std::size_t i = 0; i < claimed->entries.size(); ++i) {
          spdlog::info("worker {} took over stream={} entry={} from={} delivery={}", consumer_, stream,
                       claimed->entries[i].id, owner.empty() ? "(idle)" : owner, claimed->deliveries[i]);
          suspect = suspect || (claimed->deliveries[i] >= detail::kIsolateFromDelivery &&
                                !exhausted(claimed->deliveries[i], config_.max_attempts));
        }
        const auto n = co_await dispatch(stream, std::move(claimed->entries), std::move(claimed->deliveries));
        if (suspect && n > 0) isolating_ = true;  // it was taken alone: nothing else starts until it ends
        started += n;
      }
      it = (failed || left == 0) ? orphans_.erase(it) : std::next(it);
    }
    suspects_waiting_ = suspects && !orphans_.empty();
    co_return started;
  }

  // Claim renewal: the jobs running here are re-claimed (see claims.hpp) every third of
  // reclaim_idle_, so a slow LLM call is never taken over by another worker while this one
  // is alive.
  static asio::awaitable<void> renew_claims(std::shared_ptr<Impl> self) {
    // While stopping, the jobs still running keep being renewed until the last one ends.
    for (;;) {
      if (self->stopping_ && self->in_flight_ == 0) break;
      const auto every = std::max<std::chrono::milliseconds>(100ms, self->reclaim_idle_ / 3);
      self->renew_timer_.expires_after(self->reclaim_idle_.count() > 0 ? every : 1s);
      co_await self->renew_timer_.async_wait(kNoThrow);
      if (self->stopping_ && self->in_flight_ == 0) break;
      if (self->reclaim_idle_.count() == 0) continue;
      std::vector<redis::Command> cmds;
      for (const auto& stream : self->streams_) {
        std::vector<std::string> ids;
        for (const auto& [s, id] : self->active_) {
          if (s == stream) ids.push_back(id);
        }
        if (!ids.empty()) cmds.push_back(detail::renew_command(stream, self->config_, self->consumer_, ids));
      }
      if (cmds.empty()) continue;
      auto r = co_await self->redis_.pipeline(std::move(cmds));
      if (!r) spdlog::debug("worker {} claim renewal failed: {}", self->consumer_, r.error().message);
    }
    --self->background_running_;
    self->wake_.cancel();
  }

  asio::awaitable<bool> beat() {
    // Entries of workers that died without deregistering are pruned after a while.
    const std::int64_t prune_after = std::max<std::int64_t>(60000, 10LL * config_.worker_stale_ms);
    const std::int64_t now = unix_ms();
    std::vector<redis::Command> cmds = {
        redis::make_command("ZADD", workers_key(config_), now, consumer_),
        redis::make_command("ZREMRANGEBYSCORE", workers_key(config_), "-inf", "(" + std::to_string(now - prune_after))};
    auto r = co_await redis_.pipeline(std::move(cmds));
    if (!r) {
      spdlog::debug("worker {} heartbeat failed: {}", consumer_, r.error().message);
      co_return false;
    }
    const bool written = !r->front().is_error();
    co_return written;
  }

  asio::awaitable<bool> first_beat() {
    bool written = false;
    while (!written && !stopping_) {
      written = co_await beat();
      if (!written) co_await wait_for_wake(kRetryPause);
    }
    co_return written;
  }

  // Every heartbeat interval: this worker's heartbeat, then a look at the others'.
  static asio::awaitable<void> heartbeat(std::shared_ptr<Impl> self) {
    while (!self->stopping_) {
      self->heartbeat_timer_.expires_after(std::chrono::milliseconds(self->config_.heartbeat_interval_ms));
      co_await self->heartbeat_timer_.async_wait(kNoThrow);
      if (self->stopping_) break;
      co_await self->beat();
      if (self->stopping_) break;
      co_await self->look_for_orphans();
    }
    --self->background_running_;
    self->wake_.cancel();
  }

  static asio::awaitable<void> process(std::shared_ptr<Impl> self, std::string stream,
                                       detail::StreamEntry entry, std::int64_t deliveries) {
    const std::int64_t picked_ms = unix_ms();
    const std::string* payload = entry.field(detail::kJobField);
    auto job = payload ? decode_job(*payload, self->decoding_)
                       : Result<Job>(make_error(Errc::bad_request, "job: stream entry has no 'job' field"));
    JobMetrics* m = self->metrics_.get();
    metrics::Counter* outcome = nullptr;  // set where the job's fate is decided
    if (m && job && job->enqueued_unix_ms > 0) {
      m->pickup_ms.observe(static_cast<double>(std::max<std::int64_t>(0, picked_ms - job->enqueued_unix_ms)));
    }
    // The request's trace id, for this job's log lines (a malformed traceparent tags none).
    std::string trace_id;
    std::string request_id;
    if (job) {
      if (auto trace = parse_traceparent(job->traceparent)) trace_id = std::move(trace->trace_id);
      request_id = job->request_id;
    }
    bool answered = true;
    bool acknowledged = false;
    if (!job) {
      spdlog::warn("worker {} dropping malformed job entry={}: {}", self->consumer_, entry.id,
                   job.error().message);
      // Answer if the caller can be identified, so it does not wait for its deadline.
      if (payload) {
        auto j = nlohmann::json::parse(*payload, nullptr, false);
        if (j.is_object() && j.contains("id") && j["id"].is_string() && j.contains("reply_to") &&
            j["reply_to"].is_string() && !j["reply_to"].get<std::string>().empty()) {
          JobReply reply;
          reply.job_id = j["id"].get<std::string>();
          reply.error_code = "bad_request";
          reply.error_message = job.error().message;
          reply.worker = self->consumer_;
          acknowledged = co_await self->write_reply(j["reply_to"].get<std::string>(), reply, 0, stream, entry.id);
        }
      }
    } else if (exhausted(deliveries, self->config_.max_attempts)) {
      // A job that took down (or stalled) every worker that ran it must not run again.
      const std::string reason = "delivered " + std::to_string(deliveries) + " times; max_attempts is " +
                                 std::to_string(self->config_.max_attempts) +
                                 " (the job crashed or stalled the workers that ran it)";
      {
        const log::TraceScope traced(trace_id);
        spdlog::error("worker {} dead-lettering job={} entry={}: {}", self->consumer_, job->id, entry.id, reason);
      }
      answered = co_await self->dead_letter(stream, entry, *payload, reason, deliveries);
      if (answered && m) {
        outcome = &m->dead_lettered;
        m->dead_reasons.with({"max_attempts"}).inc();
      }
      if (answered) {
        JobReply reply;
        reply.job_id = job->id;
        reply.worker = self->consumer_;
        reply.error_code = "dead_lettered";
        reply.error_message = "the job failed on " + std::to_string(deliveries - 1) +
                              " attempts and was moved to the dead-letter queue";
        answered = co_await self->write_reply(job->reply_to, reply, job->deadline_unix_ms, stream, entry.id);
        acknowledged = answered;
      }
    } else {
      job->attempt = static_cast<int>(std::max<std::int64_t>(job->attempt, deliveries));
      JobReply reply;
      if (job->deadline_unix_ms > 0 && picked_ms >= job->deadline_unix_ms) {
        reply.error_code = "deadline_exceeded";
        reply.error_message = "the deadline passed before a worker picked the job up";
        if (m) outcome = &m->expired;
      } else {
        const double started = mono_ms();
        try {
          // The handler gets the job itself (its prompt and passages are most of its bytes);
          // what this function reads of it afterwards is kept.
          Job work = std::move(*job);
          job->id = work.id;
          job->reply_to = work.reply_to;
          if (work.stream && self->stream_handler_) {
            reply = co_await run_streamed(self, std::move(work));
          } else {
            reply = co_await self->handler_(std::move(work));
          }
        } catch (const std::exception& e) {
          const log::TraceScope traced(trace_id);
          spdlog::error("worker {} handler threw for job={}: {}", self->consumer_, job->id, e.what());
          reply = JobReply{};
          reply.error_code = "internal";
          reply.error_message = "the worker failed while processing the job";
        }
        if (reply.llm_ms == 0) reply.llm_ms = mono_ms() - started;
        if (m) {
          m->model_ms.observe(reply.llm_ms);
          if (reply.ok) {
            m->tokens.with({"prompt", reply.model}).inc(static_cast<std::uint64_t>(std::max(0, reply.prompt_tokens)));
            m->tokens.with({"completion", reply.model})
                .inc(static_cast<std::uint64_t>(std::max(0, reply.completion_tokens)));
          }
        }
      }
      reply.job_id = job->id;
      reply.worker = self->consumer_;
      if (reply.queue_wait_ms == 0 && job->enqueued_unix_ms > 0) {
        reply.queue_wait_ms = static_cast<double>(std::max<std::int64_t>(0, picked_ms - job->enqueued_unix_ms));
      }
      // The model failed for good (the generator has retried already): keep the job for
      // inspection and replay. The client gets the error either way.
      if (!reply.ok && (reply.error_code == "upstream_error" || reply.error_code == "internal")) {
        const bool kept = co_await self->dead_letter(stream, entry, *payload,
                                                     reply.error_code + ": " + reply.error_message, deliveries);
        if (kept && m) {
          outcome = &m->dead_lettered;
          m->dead_reasons.with({reply.error_code}).inc();
        }
      }
      answered = co_await self->write_reply(job->reply_to, reply, job->deadline_unix_ms, stream, entry.id);
      acknowledged = answered;
      const std::string outcome_name = reply.ok ? "answered" : reply.error_code;
      const log::TraceScope traced(trace_id);
      spdlog::info("worker {} job={} req_id={} outcome={} attempt={} queue_ms={:.1f} llm_ms={:.1f} replied={}",
                   self->consumer_, job->id, log::field(request_id), log::field(outcome_name), job->attempt,
                   reply.queue_wait_ms, reply.llm_ms, answered);
    }
    // At-least-once: without a written reply the job stays pending, to be retried.
    if (answered && !acknowledged) co_await self->acknowledge(stream, entry.id);
    if (m) (answered ? (outcome ? *outcome : m->answered) : m->retried).inc();
    ++self->processed_;
    asio::post(self->strand_, [self, key = std::make_pair(std::move(stream), std::move(entry.id))] {
      self->active_.erase(key);
      --self->in_flight_;
      if (self->in_flight_ == 0) self->isolating_ = false;
      self->wake_.cancel();
      if (self->stopping_) self->renew_timer_.cancel();
    });
  }

  // One streamed job running here: its handler runs on `strand`, where a cancel notice
  // emits `cancel`.
  struct StreamRun {
    explicit StreamRun(asio::any_io_executor ex) : strand(asio::make_strand(ex)) {}
    asio::strand<asio::any_io_executor> strand;
    asio::cancellation_signal cancel;
  };

  // Runs a streamed job: its pieces go to the reply stream as delta entries (DeltaWriter),
  // all of them written before this returns, so they precede the reply.
  static asio::awaitable<JobReply> run_streamed(std::shared_ptr<Impl> self, Job job) {
    auto run = std::make_shared<StreamRun>(self->ex_);
    auto writer = std::make_shared<detail::DeltaWriter>(run->strand, self->redis_, job.reply_to, job.id,
                                                        self->config_.reply_ttl_ms);
    const std::string id = job.id;
    asio::post(self->strand_, [self, id, run] { self->runs_[id] = run; });
    DeltaPublisher publish = [writer](std::string_view text) { writer->publish(text); };
    auto op = self->stream_handler_(std::move(job), std::move(publish));
    auto [ep, reply] = co_await asio::co_spawn(
        run->strand, std::move(op), asio::bind_cancellation_slot(run->cancel.slot(), kNoThrow));
    asio::post(self->strand_, [self, id] { self->runs_.erase(id); });
    co_await writer->drain();
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted) throw;
        reply = JobReply{};
        reply.error_code = "cancelled";
        reply.error_message = "the asker went away";
      }
    }
    reply.run_id = writer->run_id();
    co_return reply;
  }

  // Cancel notices (job_stream.hpp): a job of the notice running here has its handler
  // cancelled. Read from the stream's end as it was at start.
  static asio::awaitable<void> read_cancels(std::shared_ptr<Impl> self) {
    const std::string stream = cancel_stream(self->config_);
    std::string last;
    const auto timeout = std::chrono::milliseconds(detail::kBlockMs + self->redis_.config().command_timeout_ms);
    while (!self->stopping_) {
      if (last.empty()) {
        auto r = co_await self->cancel_conn_->command(redis::make_command("XREVRANGE", stream, "+", "-", "COUNT", 1));
        if (r && !r->is_error()) {
          auto entries = detail::parse_entries(std::move(*r));
          last = entries.empty() ? "0-0" : entries.front().id;
        } else {
          co_await detail::sleep_for(kRetryPause);
        }
        continue;
      }
      auto r = co_await self->cancel_conn_->command(
          redis::make_command("XREAD", "COUNT", 256, "BLOCK", detail::kBlockMs, "STREAMS", stream, last), timeout);
      if (self->stopping_) break;
      if (!r || r->is_error()) {
        co_await detail::sleep_for(kRetryPause);
        continue;
      }
      for (auto& e : detail::parse_stream_read(std::move(*r))) {
        last = e.id;
        const std::string* job_id = e.field("job");
        if (job_id == nullptr) continue;
        auto it = self->runs_.find(*job_id);
        if (it == self->runs_.end()) continue;
        spdlog::info("worker {} cancelling job={}: its asker went away", self->consumer_, *job_id);
        asio::post(it->second->strand, [run = it->second] { run->cancel.emit(asio::cancellation_type::terminal); });
      }
    }
    --self->background_running_;
    self->wake_.cancel();
  }

  // How long a Redis write for a job keeps being retried: until the job's deadline (its
  // answer is useless after it), at least kMinWriteRetry so a short Redis restart is ridden out.
  static Clock::time_point retry_until(std::int64_t deadline_unix_ms) {
    auto left = std::chrono::milliseconds(std::max<std::int64_t>(0, deadline_unix_ms - unix_ms()));
    return Clock::now() + std::max<std::chrono::milliseconds>(kMinWriteRetry, left);
  }

  static std::chrono::milliseconds next_pause(std::chrono::milliseconds p) {
    return std::min<std::chrono::milliseconds>(p * 2, 1s);
  }

  // Writes the reply unless one was written already for this job id (a job run twice, by a
  // slow worker and the one that reclaimed it, answers once), and acknowledges the job's
  // entry (job_stream, entry_id) in the same script: a client that has its answer never
  // finds its job still queued. True when a reply exists (and so the entry was acknowledged).
  asio::awaitable<bool> write_reply(std::string stream, JobReply reply, std::int64_t deadline_unix_ms,
                                    std::string job_stream, std::string entry_id) {
    const std::string payload = encode_reply(reply);
    const std::int64_t guard_ttl = std::max<std::int64_t>(
        config_.reply_ttl_ms, deadline_unix_ms - unix_ms() + config_.reply_ttl_ms);
    const auto until = retry_until(deadline_unix_ms);
    auto pause = kRetryPause;
    for (;;) {
      redis::Command cmd = redis::make_command("EVAL", kReplyOnceScript, 3, reply_done_key(config_, reply.job_id),
                                               stream, job_stream, guard_ttl, payload, config_.reply_ttl_ms,
                                               config_.group, entry_id);
      auto r = co_await redis_.command(std::move(cmd));
      if (r && !r->is_error()) {
        if (r->as_integer().value_or(1) == 0) {
          spdlog::info("worker {} job={} was answered already; reply dropped", consumer_, reply.job_id);
        }
        co_return true;
      }
      spdlog::warn("worker {} cannot write reply for job={}: {}", consumer_, reply.job_id,
                   r ? r->str : r.error().message);
      if (r) co_return false;  // a Redis error reply will not go away by retrying
      if (Clock::now() + pause >= until) co_return false;
      co_await detail::sleep_for(pause);
      pause = next_pause(pause);
    }
  }

  asio::awaitable<bool> dead_letter(std::string stream, detail::StreamEntry entry, std::string payload,
                                    std::string reason, std::int64_t deliveries) {
    const auto until = retry_until(0);
    auto pause = kRetryPause;
    for (;;) {
      auto r = co_await redis_.command(redis::make_command(
          "XADD", dead_stream_, "MAXLEN", "~", kDeadLetterMax, "*", detail::kJobField, payload, "reason",
          reason, "stream", stream, "entry_id", entry.id, "deliveries", deliveries, "consumer", consumer_,
          "failed_unix_ms", unix_ms()));
      if (r && !r->is_error()) co_return true;
      spdlog::warn("worker {} cannot dead-letter entry={}: {}", consumer_, entry.id,
                   r ? r->str : r.error().message);
      if (r || Clock::now() + pause >= until) co_return false;
      co_await detail::sleep_for(pause);
      pause = next_pause(pause);
    }
  }

  asio::awaitable<void> acknowledge(std::string stream, std::string entry_id) {
    const auto until = retry_until(0);
    auto pause = kRetryPause;
    for (;;) {
      std::vector<redis::Command> cmds = {
          redis::make_command("XACK", stream, config_.group, entry_id),
          redis::make_command("XDEL", stream, entry_id)};
      auto r = co_await redis_.pipeline(std::move(cmds));
      if (r) co_return;
      if (Clock::now() + pause >= until) break;
      co_await detail::sleep_for(pause);
      pause = next_pause(pause);
    }
    spdlog::warn("worker {} could not acknowledge entry={}", consumer_, entry_id);
  }

  void stop() {
    stopping_ = true;
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->wake_.cancel();
      self->heartbeat_timer_.cancel();
      self->renew_timer_.cancel();
    });
  }

  asio::any_io_executor ex_;
  asio::strand<asio::any_io_executor> strand_;
  redis::Client redis_;
  std::unique_ptr<redis::Connection> read_conn_;
  QueueConfig config_;
  std::array<std::string, kPriorityCount> streams_;  // highest priority first
  std::string dead_stream_;
  std::string consumer_;
  std::int64_t concurrency_;
  JobHandler handler_;
  StreamJobHandler stream_handler_;
  std::unique_ptr<redis::Connection> cancel_conn_;  // read_cancels' blocking reads
  std::unordered_map<std::string, std::shared_ptr<StreamRun>> runs_;  // streamed jobs by id; strand only
  asio::steady_timer wake_;             // strand only
  asio::steady_timer heartbeat_timer_;  // strand only
  asio::steady_timer renew_timer_;      // strand only
  int background_running_ = 0;          // heartbeat and renewal coroutines; strand only
  std::chrono::milliseconds reclaim_idle_;
  JobDecoding decoding_ = JobDecoding::full;
  std::unique_ptr<JobMetrics> metrics_;  // null: not counted
  HeartbeatWatch watch_;              // strand only
  // Dead consumers whose jobs are to be taken over ("" = jobs idle past reclaim_idle_, any
  // consumer); strand only.
  std::set<std::string> orphans_;
  bool suspects_waiting_ = false;     // a suspect job waits for a worker alone; strand only
  bool isolating_ = false;            // a suspect job runs alone here; strand only
  std::array<std::string, kPriorityCount> pending_from_;  // "0"/last id while re-reading; strand only
  std::set<std::pair<std::string, std::string>> active_;  // (stream, entry id) running here; strand only
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ran_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> processed_{0};
};

WorkerRunner::WorkerRunner(asio::any_io_executor ex, RedisConfig redis, QueueConfig config,
                           std::string consumer_name, int concurrency, JobHandler handler)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(redis), std::move(config),
                                   std::move(consumer_name), concurrency, std::move(handler))) {}

WorkerRunner::~WorkerRunner() { stop(); }

asio::awaitable<void> WorkerRunner::run() {
  auto self = impl_;
  co_await asio::co_spawn(self->strand_, Impl::run_loop(self), asio::use_awaitable);
}

void WorkerRunner::stop() { impl_->stop(); }

void WorkerRunner::set_reclaim_idle(std::chrono::milliseconds idle) { impl_->reclaim_idle_ = idle; }

void WorkerRunner::set_job_decoding(JobDecoding decoding) { impl_->decoding_ = decoding; }

void WorkerRunner::set_stream_handler(StreamJobHandler handler) { impl_->stream_handler_ = std::move(handler); }

void WorkerRunner::set_metrics(metrics::Registry& registry) {
  impl_->metrics_ = std::make_unique<JobMetrics>(registry);
  registry.on_collect([weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock(); self && self->metrics_) {
      self->metrics_->in_flight.set(static_cast<double>(self->in_flight_.load()));
    }
  });
}

std::int64_t WorkerRunner::processed() const { return impl_->processed_.load(); }

std::int64_t WorkerRunner::in_flight() const { return impl_->in_flight_.load(); }

}  // namespace ragd::queue
