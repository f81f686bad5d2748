// Worker side of the job queue.
//
// Delivery is at-least-once: a job is acknowledged (XACK, then XDEL so that XLEN stays the
// queue depth) only after its reply has been written to the asking gateway's reply stream.
// A worker that dies leaves its jobs pending in the group; when restarted under the same
// consumer name it first re-reads its own pending entries (XREADGROUP ... 0) before taking
// new ones (>). Gateways ignore a second reply for a job they already answered.
//
// The read loop and bookkeeping run on this runner's strand; each job runs as its own
// coroutine on the runner's executor, so handlers of different jobs may run in parallel.
#include "ragd/queue/job_queue.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"
#include "queue/stream_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <unordered_set>

namespace ragd::queue {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kRetryPause = 200ms;
constexpr int kWriteAttempts = 3;
constexpr auto kReclaimEvery = 1s;
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
        consumer_(consumer.empty() ? "worker-" + random_id().substr(0, 12) : std::move(consumer)),
        concurrency_(std::max(1, concurrency)),
        handler_(std::move(handler)),
        wake_(strand_),
        heartbeat_timer_(strand_) {}

  // Sleeps on the strand until `d` passes or wake_ is cancelled (a job finished, stop()).
  asio::awaitable<void> wait_for_wake(std::chrono::milliseconds d) {
    wake_.expires_after(d);
    co_await wake_.async_wait(kNoThrow);
  }

  asio::awaitable<bool> ensure_group() {
    while (!stopping_) {
      // Id 0, not $: jobs enqueued before the first worker ever started must be delivered.
      auto r = co_await redis_.command(redis::make_command(
          "XGROUP", "CREATE", config_.jobs_stream, config_.group, "0", "MKSTREAM"));
      if (r && (!r->is_error() || r->str.starts_with("BUSYGROUP"))) co_return true;
      spdlog::warn("cannot create consumer group {} on {}: {}", config_.group, config_.jobs_stream,
                   r ? r->str : r.error().message);
      co_await wait_for_wake(kRetryPause);
    }
    co_return false;
  }

  static asio::awaitable<void> run_loop(std::shared_ptr<Impl> self) {
    if (self->stopping_ || self->ran_.exchange(true)) co_return;
    if (co_await self->ensure_group()) {
      asio::co_spawn(self->strand_, heartbeat(self), asio::detached);
      self->heartbeat_running_ = true;
      co_await self->read_loop();
    }
    // Drain: every job already read is answered before run() returns.
    while (self->in_flight_ > 0 || self->heartbeat_running_) {
      co_await self->wait_for_wake(1s);
    }
    auto r = co_await self->redis_.command(
        redis::make_command("ZREM", detail::kWorkersKey, self->consumer_));
    if (!r) spdlog::warn("worker {} could not deregister: {}", self->consumer_, r.error().message);
    self->read_conn_->close();
    self->redis_.close();
    spdlog::info("worker {} stopped processed={}", self->consumer_, self->processed_.load());
  }

  asio::awaitable<void> read_loop() {
    // Our own pending entries first (a previous run under this name died holding them); each
    // read continues after the last id seen, then ">" reads new jobs.
    std::string from = "0";
    const auto timeout = std::chrono::milliseconds(detail::kBlockMs + redis_.config().command_timeout_ms);
    while (!stopping_) {
      const std::int64_t free_slots = concurrency_ - in_flight_;
      if (free_slots <= 0) {
        co_await wait_for_wake(1s);
        continue;
      }
      if (from == ">" && reclaim_idle_.count() > 0 && Clock::now() >= next_reclaim_) {
        next_reclaim_ = Clock::now() + kReclaimEvery;
        co_await reclaim(free_slots);
        continue;  // free slots changed
      }
      auto r = co_await read_conn_->command(
          redis::make_command("XREADGROUP", "GROUP", config_.group, consumer_, "COUNT", free_slots,
                              "BLOCK", detail::kBlockMs, "STREAMS", config_.jobs_stream, from),
          timeout);
      if (!r) {
        if (stopping_) break;
        spdlog::warn("worker {} cannot read jobs: {}", consumer_, r.error().message);
        co_await wait_for_wake(kRetryPause);
        continue;
      }
      if (r->is_error()) {
        spdlog::warn("worker {} XREADGROUP failed: {}", consumer_, r->str);
        if (r->str.starts_with("NOGROUP")) {
          co_await ensure_group();
        } else {
          co_await wait_for_wake(kRetryPause);
        }
        continue;
      }
      auto entries = detail::parse_stream_read(*r);
      if (from != ">") {
        if (entries.empty()) {
          from = ">";
          continue;
        }
        from = entries.back().id;
      }
      for (auto& e : entries) {
        if (e.deleted) {  // pending, but the entry itself is gone: nothing to answer
          co_await acknowledge(e.id);
          continue;
        }
        ++in_flight_;
        active_.insert(e.id);
        // A re-read pending entry was delivered at least once before.
        const int attempt = from == ">" ? 1 : 2;
        asio::co_spawn(ex_, process(shared_from_this(), std::move(e), attempt), asio::detached);
      }
    }
  }

  // Takes over jobs another consumer has held for longer than reclaim_idle_ (it died or
  // hangs). Each scan starts at the beginning of the pending list; COUNT bounds the work.
  asio::awaitable<void> reclaim(std::int64_t free_slots) {
    auto r = co_await redis_.command(redis::make_command(
        "XAUTOCLAIM", config_.jobs_stream, config_.group, consumer_, reclaim_idle_.count(), "0-0",
        "COUNT", free_slots));
    if (!r || r->is_error()) {
      spdlog::debug("worker {} XAUTOCLAIM failed: {}", consumer_, r ? r->str : r.error().message);
      co_return;
    }
    for (auto& e : detail::parse_autoclaim(*r)) {
      // XAUTOCLAIM also returns our own slow jobs; those are running already.
      if (active_.contains(e.id)) continue;
      if (e.deleted) {
        co_await acknowledge(e.id);
        continue;
      }
      spdlog::info("worker {} reclaimed entry={}", consumer_, e.id);
      ++in_flight_;
      active_.insert(e.id);
      asio::co_spawn(ex_, process(shared_from_this(), std::move(e), 2), asio::detached);
    }
  }

  static asio::awaitable<void> heartbeat(std::shared_ptr<Impl> self) {
    // Entries of workers that died without deregistering are pruned after a while.
    const std::int64_t prune_after = std::max<std::int64_t>(60000, 10LL * self->config_.worker_stale_ms);
    while (!self->stopping_) {
      const std::int64_t now = unix_ms();
      std::vector<redis::Command> cmds = {
          redis::make_command("ZADD", detail::kWorkersKey, now, self->consumer_),
          redis::make_command("ZREMRANGEBYSCORE", detail::kWorkersKey, "-inf",
                              "(" + std::to_string(now - prune_after))};
      auto r = co_await self->redis_.pipeline(std::move(cmds));
      if (!r) spdlog::debug("worker {} heartbeat failed: {}", self->consumer_, r.error().message);
      if (self->stopping_) break;
      self->heartbeat_timer_.expires_after(std::chrono::milliseconds(self->config_.heartbeat_interval_ms));
      co_await self->heartbeat_timer_.async_wait(kNoThrow);
    }
    self->heartbeat_running_ = false;
    self->wake_.cancel();
  }

  static asio::awaitable<void> process(std::shared_ptr<Impl> self, detail::StreamEntry entry,
                                       int attempt) {
    const std::int64_t picked_ms = unix_ms();
    const std::string* payload = entry.field(detail::kJobField);
    auto job = payload ? decode_job(*payload)
                       : Result<Job>(make_error(Errc::bad_request, "job: stream entry has no 'job' field"));
    bool answered = true;
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
          co_await self->write_reply(j["reply_to"].get<std::string>(), reply);
        }
      }
    } else {
      job->attempt = std::max(job->attempt, attempt);
      JobReply reply;
      if (job->deadline_unix_ms > 0 && picked_ms >= job->deadline_unix_ms) {
        reply.error_code = "deadline_exceeded";
        reply.error_message = "the deadline passed before a worker picked the job up";
      } else {
        const double started = mono_ms();
        try {
          reply = co_await self->handler_(*job);
        } catch (const std::exception& e) {
          spdlog::error("worker {} handler threw for job={}: {}", self->consumer_, job->id, e.what());
          reply = JobReply{};
          reply.error_code = "internal";
          reply.error_message = "the worker failed while processing the job";
        }
        if (reply.llm_ms == 0) reply.llm_ms = mono_ms() - started;
      }
      reply.job_id = job->id;
      reply.worker = self->consumer_;
      if (reply.queue_wait_ms == 0 && job->enqueued_unix_ms > 0) {
        reply.queue_wait_ms = static_cast<double>(std::max<std::int64_t>(0, picked_ms - job->enqueued_unix_ms));
      }
      answered = co_await self->write_reply(job->reply_to, reply);
    }
    // At-least-once: without a written reply the job stays pending, to be retried.
    if (answered) co_await self->acknowledge(entry.id);
    ++self->processed_;
    asio::post(self->strand_, [self, id = std::move(entry.id)] {
      self->active_.erase(id);
      --self->in_flight_;
      self->wake_.cancel();
    });
  }

  asio::awaitable<bool> write_reply(std::string stream, JobReply reply) {
    const std::string payload = encode_reply(reply);
    for (int i = 0; i < kWriteAttempts; ++i) {
      std::vector<redis::Command> cmds = {
          redis::make_command("XADD", stream, "*", detail::kReplyField, payload),
          redis::make_command("PEXPIRE", stream, config_.reply_ttl_ms)};
      auto r = co_await redis_.pipeline(std::move(cmds));
      if (r && !(*r)[0].is_error()) co_return true;
      spdlog::warn("worker {} cannot write reply for job={}: {}", consumer_, reply.job_id,
                   r ? (*r)[0].str : r.error().message);
      if (r) break;  // a Redis error reply will not go away by retrying
      co_await detail::sleep_for(kRetryPause);
    }
    co_return false;
  }

  asio::awaitable<void> acknowledge(std::string entry_id) {
    for (int i = 0; i < kWriteAttempts; ++i) {
      std::vector<redis::Command> cmds = {
          redis::make_command("XACK", config_.jobs_stream, config_.group, entry_id),
          redis::make_command("XDEL", config_.jobs_stream, entry_id)};
      auto r = co_await redis_.pipeline(std::move(cmds));
      if (r) co_return;
      co_await detail::sleep_for(kRetryPause);
    }
    spdlog::warn("worker {} could not acknowledge entry={}", consumer_, entry_id);
  }

  void stop() {
    stopping_ = true;
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->wake_.cancel();
      self->heartbeat_timer_.cancel();
    });
  }

  asio::any_io_executor ex_;
  asio::strand<asio::any_io_executor> strand_;
  redis::Client redis_;
  std::unique_ptr<redis::Connection> read_conn_;
  QueueConfig config_;
  std::string consumer_;
  std::int64_t concurrency_;
  JobHandler handler_;
  asio::steady_timer wake_;             // strand only
  asio::steady_timer heartbeat_timer_;  // strand only
  bool heartbeat_running_ = false;      // strand only
  std::chrono::milliseconds reclaim_idle_{60000};
  Clock::time_point next_reclaim_{};  // strand only
  std::unordered_set<std::string> active_;  // entry ids of jobs running here; strand only
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

std::int64_t WorkerRunner::processed() const { return impl_->processed_.load(); }

std::int64_t WorkerRunner::in_flight() const { return impl_->in_flight_.load(); }

}  // namespace ragd::queue
