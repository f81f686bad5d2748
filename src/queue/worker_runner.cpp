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
// What is here is what shares that strand's state (slots, the jobs running here, the
// isolation flags): reading, taking over, renewing, heartbeats and each job's course. The
// Redis side of settling a job (reply, dead letter, acknowledgement) is job_answers.cpp;
// streamed jobs and their cancel notices, stream_runs.cpp; the take-over and renewal scripts
// and the heartbeat and survey commands, claims.cpp; the metric series, job_metrics.hpp.
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
#include "queue/job_answers.hpp"
#include "queue/job_metrics.hpp"
#include "queue/stream_runs.hpp"
#include "queue/stream_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <array>
#include <set>
#include <utility>

namespace ragd::queue {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kRetryPause = 200ms;
using Clock = std::chrono::steady_clock;

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
        consumer_(consumer.empty() ? "worker-" + random_id().substr(0, 12) : std::move(consumer)),
        concurrency_(std::max(1, concurrency)),
        handler_(std::move(handler)),
        wake_(strand_),
        heartbeat_timer_(strand_),
        renew_timer_(strand_),
        reclaim_idle_(config_.reclaim_idle_ms),
        watch_(std::chrono::milliseconds(config_.worker_stale_ms)),
        answers_(redis_, config_, consumer_),
        stream_runs_(ex_, strand_, redis_, config_, consumer_) {
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
                     r ? r->str : log_text(r.error()));
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
    if (!r) spdlog::warn("worker {} could not deregister: {}", self->consumer_, log_text(r.error()));
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
      if (!stopping_) spdlog::warn("worker {} cannot read jobs: {}", consumer_, log_text(r.error()));
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
        co_await answers_.acknowledge(stream, e.id);
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

  // One look at the group: which consumers are dead (heartbeat_watch.hpp), and whether a job
  // sat idle past reclaim_idle_ (its consumer neither runs nor renews it): orphans_ to take over.
  asio::awaitable<void> look_for_orphans() {
    auto r = co_await redis_.pipeline(detail::survey_commands(streams_, config_, reclaim_idle_));
    if (!r) co_return;
    auto survey = detail::parse_survey(*r, streams_.size(), consumer_);
    if (!survey) co_return;
    std::set<std::string> found;
    for (auto& name : watch_.dead(survey->consumers, survey->heartbeats, Clock::now())) found.insert(std::move(name));
    if (survey->idle_jobs) found.insert(std::string());
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
                       !r ? log_text(r.error()) : r->is_error() ? r->str : "unexpected reply");
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
      if (!r) spdlog::debug("worker {} claim renewal failed: {}", self->consumer_, log_text(r.error()));
    }
    --self->background_running_;
    self->wake_.cancel();
  }

  asio::awaitable<bool> beat() {
    auto r = co_await redis_.pipeline(detail::heartbeat_commands(config_, consumer_, unix_ms()));
    if (!r) spdlog::debug("worker {} heartbeat failed: {}", consumer_, log_text(r.error()));
    co_return r && !r->front().is_error();
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
    detail::JobMetrics* m = self->metrics_.get();
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
                   log_text(job.error()));
      if (payload) acknowledged = co_await self->answers_.refuse(*payload, job.error(), stream, entry.id);
    } else if (exhausted(deliveries, self->config_.max_attempts)) {
      // A job that took down (or stalled) every worker that ran it must not run again.
      const std::string reason = "delivered " + std::to_string(deliveries) + " times; max_attempts is " +
                                 std::to_string(self->config_.max_attempts) +
                                 " (the job crashed or stalled the workers that ran it)";
      {
        const log::TraceScope traced(trace_id);
        spdlog::error("worker {} dead-lettering job={} entry={}: {}", self->consumer_, job->id, entry.id, reason);
      }
      answered = co_await self->answers_.dead_letter(stream, entry.id, *payload, reason, deliveries);
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
        answered = co_await self->answers_.reply(job->reply_to, reply, job->deadline_unix_ms, stream, entry.id);
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
            reply = co_await self->stream_runs_.run(self->stream_handler_, std::move(work));
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
        if (m) m->observe_model_call(reply);
      }
      reply.job_id = job->id;
      reply.worker = self->consumer_;
      if (reply.queue_wait_ms == 0 && job->enqueued_unix_ms > 0) {
        reply.queue_wait_ms = static_cast<double>(std::max<std::int64_t>(0, picked_ms - job->enqueued_unix_ms));
      }
      // The model failed for good (the generator has retried already): keep the job for
      // inspection and replay. The client gets the error either way.
      if (!reply.ok && (reply.error_code == "upstream_error" || reply.error_code == "internal")) {
        const bool kept = co_await self->answers_.dead_letter(stream, entry.id, *payload,
                                                     reply.error_code + ": " + reply.error_message, deliveries);
        if (kept && m) {
          outcome = &m->dead_lettered;
          m->dead_reasons.with({reply.error_code}).inc();
        }
      }
      answered = co_await self->answers_.reply(job->reply_to, reply, job->deadline_unix_ms, stream, entry.id);
      acknowledged = answered;
      const std::string outcome_name = reply.ok ? "answered" : reply.error_code;
      const log::TraceScope traced(trace_id);
      spdlog::info("worker {} job={} req_id={} outcome={} attempt={} queue_ms={:.1f} llm_ms={:.1f} replied={}",
                   self->consumer_, job->id, log::field(request_id), log::field(outcome_name), job->attempt,
                   reply.queue_wait_ms, reply.llm_ms, answered);
    }
    // At-least-once: without a written reply the job stays pending, to be retried.
    if (answered && !acknowledged) co_await self->answers_.acknowledge(stream, entry.id);
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

  // The cancel notices of streamed jobs, for as long as the runner runs.
  static asio::awaitable<void> read_cancels(std::shared_ptr<Impl> self) {
    co_await self->stream_runs_.read_cancels(self->stopping_);
    --self->background_running_;
    self->wake_.cancel();
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
  std::string consumer_;
  std::int64_t concurrency_;
  JobHandler handler_;
  StreamJobHandler stream_handler_;
  asio::steady_timer wake_;             // strand only
  asio::steady_timer heartbeat_timer_;  // strand only
  asio::steady_timer renew_timer_;      // strand only
  int background_running_ = 0;          // heartbeat and renewal coroutines; strand only
  std::chrono::milliseconds reclaim_idle_;
  JobDecoding decoding_ = JobDecoding::full;
  std::unique_ptr<detail::JobMetrics> metrics_;  // null: not counted
  HeartbeatWatch watch_;              // strand only
  detail::JobAnswers answers_;        // after redis_, config_ and consumer_, which it refers to
  detail::StreamRuns stream_runs_;    // likewise
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
  impl_->metrics_ = std::make_unique<detail::JobMetrics>(registry);
  registry.on_collect([weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock(); self && self->metrics_) {
      self->metrics_->in_flight.set(static_cast<double>(self->in_flight_.load()));
    }
  });
}

std::int64_t WorkerRunner::processed() const { return impl_->processed_.load(); }

std::int64_t WorkerRunner::in_flight() const { return impl_->in_flight_.load(); }

}  // namespace ragd::queue
