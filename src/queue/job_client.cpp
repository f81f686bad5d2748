// Gateway side of the job queue.
//
// Jobs are appended with a plain `XADD <stream of the job's priority> * job <json>`, without
// MAXLEN: trimming would silently drop jobs no worker has seen. Each stream is bounded by
// shedding instead: submit() refuses with Errc::overloaded once the depth estimate of that
// priority reaches its bound. The estimate is the XLEN sampled every kDepthSampleMs by a
// background coroutine plus the jobs this process added since that sample, so shedding costs
// no round trip per job. Workers XDEL each job after acknowledging it, so XLEN counts
// exactly the unacknowledged jobs.
//
// A waiter given up (client gone, deadline) deletes its job's entry: a worker that has not
// read it yet never will, and one that has finds nothing to do or answers a reply nobody
// reads. Both are harmless, so the XDEL needs no coordination with the workers.
//
// Waiters live in the frame of the coroutine awaiting them (on this client's strand) and are
// found by job id; the reply reader and the enqueue step wake them by cancelling the timer
// they sleep on, whose expiry is the job's deadline.
#include "ragd/queue/job_queue.hpp"

#include "ragd/core/await_on.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/queue/admission_limit.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/redis/stream_id.hpp"
#include "queue/stream_impl.hpp"
#include "ragd/queue/job_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>
#include <atomic>
#include <unordered_map>

namespace ragd::queue {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kDepthSampleMs = 50ms;
constexpr auto kRetryPause = 100ms;

// From the job's creation (the gateway's clock) to its entry's id (Redis's clock); -1 for an
// id that is not one. Clocks that disagree can make it negative: counted as 0.
double enqueue_delay_ms(const std::string& entry_id, std::int64_t enqueued_unix_ms) {
  auto id = redis::parse_stream_id(entry_id);
  if (!id) return -1;
  return std::max(0.0, static_cast<double>(static_cast<std::int64_t>(id->ms) - enqueued_unix_ms));
}
}  // namespace

struct JobClient::Impl : std::enable_shared_from_this<JobClient::Impl> {
  struct Waiter {
    std::optional<Result<JobReply>> result;
    asio::steady_timer* timer = nullptr;
    std::string entry_id;  // set once the XADD has returned
    bool cancelled = false;
    const DeltaHandler* on_delta = nullptr;  // streamed jobs only
    std::string run_id;                      // the run whose pieces were handed on
    std::int64_t seq = 0;                    // the last piece handed on

    void finish(Result<JobReply> r) {
      if (result) return;
      result = std::move(r);
      timer->cancel();
    }
  };

  Impl(asio::any_io_executor ex, redis::Client& redis, QueueConfig config, std::string gateway_id)
      : strand_(asio::make_strand(ex)),
        redis_(redis),
        config_(std::move(config)),
        gateway_id_(gateway_id.empty() ? random_id() : std::move(gateway_id)),
        reply_stream_(queue::reply_stream(config_, gateway_id_)),
        streams_(priority_streams(config_)),
        reader_conn_(redis.dedicated_connection()),
        admission_(std::chrono::milliseconds(config_.max_wait_ms), 1, config_.max_depth,
                   std::min<std::int64_t>(config_.max_depth, 32)) {}

  static asio::awaitable<Result<JobReply>> await_reply(std::shared_ptr<Impl> self, std::string id,
                                                       std::string payload, std::size_t priority,
                                                       std::chrono::milliseconds remaining,
                                                       std::int64_t enqueued_unix_ms, DeltaHandler on_delta) {
    if (self->stopped_) co_return make_error(Errc::cancelled, "job client stopped");
    asio::steady_timer timer(self->strand_, remaining);
    Waiter w;
    w.timer = &timer;
    if (on_delta) w.on_delta = &on_delta;
    if (!self->waiters_.emplace(id, &w).second) {
      co_return make_error(Errc::bad_request, "duplicate job id");
    }
    ++self->in_flight_;
    ++self->added_since_sample_[priority];
    // The XADD runs on its own: cancelling this wait (client gone) must not cancel a command
    // in flight, which would reset a pooled connection shared with other requests.
    asio::co_spawn(self->strand_, enqueue(self, id, std::move(payload), priority), asio::detached);
    boost::system::error_code ec;
    if (!w.result && !w.cancelled) std::tie(ec) = co_await timer.async_wait(kNoThrow);
    self->waiters_.erase(id);
    --self->in_flight_;
    if (w.result) {
      // The XADD's reply normally comes first (Redis sends it before any worker can read
      // the job), but it travels on another connection: without it, nothing is known.
      if (*w.result && !w.entry_id.empty()) (*w.result)->enqueue_ms = enqueue_delay_ms(w.entry_id, enqueued_unix_ms);
      co_return std::move(*w.result);
    }
    // Given up: if the XADD has returned, its entry goes now; otherwise enqueue() removes it.
    if (!w.entry_id.empty()) {
      asio::co_spawn(self->strand_, forget(self, self->streams_[priority], std::move(w.entry_id)),
                     asio::detached);
    }
    if (!ec && !w.cancelled) {
      co_return make_error(Errc::deadline_exceeded, "no reply from a worker before the deadline");
    }
    // A streamed job's model call may be running: the workers are told to stop it.
    if (on_delta) asio::co_spawn(self->strand_, notify_cancel(self, id), asio::detached);
    co_return make_error(Errc::cancelled, "request cancelled while waiting for the LLM");
  }

  // The caller gave up (its client went away, an outer deadline): wake its wait.
  void cancel_wait(const std::string& id) {
    auto it = waiters_.find(id);
    if (it == waiters_.end() || it->second->result) return;
    it->second->cancelled = true;
    it->second->timer->cancel();
  }

  static asio::awaitable<void> enqueue(std::shared_ptr<Impl> self, std::string id,
                                       std::string payload, std::size_t priority) {
    if (self->stopped_) co_return;  // the waiter is already failed; the Client may be going away
    auto r = co_await self->redis_.command(redis::make_command(
        "XADD", self->streams_[priority], "*", detail::kJobField, payload));
    auto it = self->waiters_.find(id);
    if (r && !r->is_error()) {
      auto entry_id = r->as_string().value_or("");
      if (it != self->waiters_.end()) {
        it->second->entry_id = std::move(entry_id);
      } else if (!entry_id.empty()) {
        co_await forget(self, self->streams_[priority], std::move(entry_id));
      }
      co_return;
    }
    if (it == self->waiters_.end()) co_return;
    if (!r) {
      // The cause (a Redis error, which may name hosts) is for the log, not for clients.
      spdlog::warn("job queue XADD failed: {}", r.error().message);
      it->second->finish(make_error(Errc::unavailable, "the job queue is unavailable; retry later"));
    } else {
      spdlog::error("job queue XADD failed: {}", r->str);
      it->second->finish(make_error(Errc::internal, "job queue rejected the job"));
    }
  }

  static asio::awaitable<void> read_replies(std::shared_ptr<Impl> self) {
    // Start at the beginning: entries left from an earlier process with this gateway id are
    // unknown job ids and are dropped; nothing written after start() can be missed.
    std::string last_id = "0-0";
    const auto timeout = std::chrono::milliseconds(detail::kBlockMs + self->redis_.config().command_timeout_ms);
    while (!self->stopped_) {
      auto r = co_await self->reader_conn_->command(
          redis::make_command("XREAD", "COUNT", "256", "BLOCK", detail::kBlockMs, "STREAMS",
                              self->reply_stream_, last_id),
          timeout);
      if (self->stopped_) break;
      if (!r || r->is_error()) {
        if (r) spdlog::warn("reply stream read failed: {}", r->str);
        co_await detail::sleep_for(kRetryPause);
        continue;
      }
      auto entries = detail::parse_stream_read(std::move(*r));
      if (entries.empty()) continue;
      redis::Command xdel = {"XDEL", self->reply_stream_};
      for (auto& e : entries) {
        last_id = e.id;
        xdel.push_back(e.id);
        if (e.field(kDeltaField) != nullptr) {
          self->dispatch_delta(std::move(e));
        } else {
          self->dispatch_reply(e);
        }
      }
      // The cleanup goes out on the shared connections and is not waited for: the next read
      // starts after last_id whatever became of it, and replies arriving meanwhile are not
      // held up by a round trip.
      std::vector<redis::Command> cleanup = {
          std::move(xdel),
          redis::make_command("PEXPIRE", self->reply_stream_, self->config_.reply_ttl_ms)};
      asio::co_spawn(self->strand_, clean_up(self, std::move(cleanup)), asio::detached);
    }
  }

  static asio::awaitable<void> clean_up(std::shared_ptr<Impl> self, std::vector<redis::Command> cleanup) {
    if (self->stopped_) co_return;
    auto c = co_await self->redis_.pipeline(std::move(cleanup));
    if (!c) spdlog::debug("reply stream cleanup failed: {}", c.error().message);
  }

  static asio::awaitable<void> notify_cancel(std::shared_ptr<Impl> self, std::string id) {
    if (self->stopped_) co_return;
    auto r = co_await self->redis_.command(cancel_command(self->config_, id));
    if (!r || r->is_error()) spdlog::debug("cancel notice for job={} not written", id);
  }

  // Deletes the entry of a job nobody waits for any more (best effort).
  static asio::awaitable<void> forget(std::shared_ptr<Impl> self, std::string stream, std::string entry_id) {
    if (self->stopped_) co_return;
    auto r = co_await self->redis_.command(redis::make_command("XDEL", stream, entry_id));
    if (r && r->as_integer().value_or(0) > 0) ++self->forgotten_;
  }

  void dispatch_reply(const detail::StreamEntry& e) {
    const std::string* payload = e.field(detail::kReplyField);
    if (!payload) return;
    auto reply = decode_reply(*payload);
    if (!reply) {
      spdlog::warn("dropping malformed job reply id={}: {}", e.id, reply.error().message);
      return;
    }
    auto it = waiters_.find(reply->job_id);
    if (it == waiters_.end()) return;  // the waiter gave up (deadline, cancel) or a duplicate
    if (!it->second->run_id.empty() && reply->run_id != it->second->run_id) {
      it->second->finish(restarted_error());
      return;
    }
    if (!reply->ok && reply->error_code == "deadline_exceeded") {
      it->second->finish(make_error(Errc::deadline_exceeded, "the job's deadline passed in the queue"));
      return;
    }
    it->second->finish(std::move(*reply));
  }

  static Error restarted_error() {
    return make_error(Errc::upstream_error,
                      "the worker streaming this answer stopped after it began; the answer is incomplete");
  }

  // A piece of a streamed answer: handed on if it continues the run already handed on (or
  // starts one); a piece of another run means the first one's worker died mid-answer.
  void dispatch_delta(StreamRecord&& e) {
    auto d = parse_delta(std::move(e));
    if (!d) return;
    auto it = waiters_.find(d->job_id);
    if (it == waiters_.end() || it->second->on_delta == nullptr || it->second->result) return;
    Waiter& w = *it->second;
    if (w.run_id.empty()) {
      w.run_id = d->run_id;
    } else if (w.run_id != d->run_id) {
      w.finish(restarted_error());
      return;
    }
    if (d->seq <= w.seq) return;  // a duplicate
    w.seq = d->seq;
    (*w.on_delta)(d->text);
  }

  static asio::awaitable<void> sample_depth(std::shared_ptr<Impl> self) {
    while (!self->stopped_) {
      std::vector<redis::Command> cmds;
      for (const auto& stream : self->streams_) cmds.push_back(redis::make_command("XLEN", stream));
      auto r = co_await self->redis_.pipeline(std::move(cmds));
      for (std::size_t i = 0; r && i < r->size() && i < self->streams_.size(); ++i) {
        if ((*r)[i].kind != redis::Reply::Kind::integer) continue;
        self->sampled_depth_[i] = (*r)[i].integer;
        self->added_since_sample_[i] = 0;
      }
      co_await detail::sleep_for(kDepthSampleMs);
    }
  }

  void stop() {
    stopped_ = true;
    reader_conn_->close();
    asio::dispatch(strand_, [self = shared_from_this()] {
      auto waiters = self->waiters_;
      for (auto& [id, w] : waiters) w->finish(make_error(Errc::cancelled, "job client stopped"));
    });
  }

  asio::strand<asio::any_io_executor> strand_;
  redis::Client& redis_;
  QueueConfig config_;
  std::string gateway_id_;
  std::string reply_stream_;
  std::array<std::string, kPriorityCount> streams_;  // by priority, highest first
  std::unique_ptr<redis::Connection> reader_conn_;
  std::unordered_map<std::string, Waiter*> waiters_;  // strand only
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::array<std::atomic<std::int64_t>, kPriorityCount> sampled_depth_{};
  std::array<std::atomic<std::int64_t>, kPriorityCount> added_since_sample_{};
  std::atomic<std::int64_t> forgotten_{0};  // entries deleted for waiters that gave up
  AdmissionLimit admission_;  // interactive jobs of this gateway (queue.max_wait_ms)
};

JobClient::JobClient(asio::any_io_executor ex, redis::Client& redis, QueueConfig config,
                     std::string gateway_id)
    : impl_(std::make_shared<Impl>(std::move(ex), redis, std::move(config), std::move(gateway_id))) {}

JobClient::~JobClient() { stop(); }

void JobClient::start() {
  if (impl_->started_.exchange(true)) return;
  asio::co_spawn(impl_->strand_, Impl::read_replies(impl_), asio::detached);
  asio::co_spawn(impl_->strand_, Impl::sample_depth(impl_), asio::detached);
}

void JobClient::stop() {
  if (impl_->stopped_) return;
  impl_->stop();
}

// GCC 12 reports -Wmismatched-new-delete on this coroutine's frame at -O2: Asio allocates
// and frees awaitable frames through its own operator new/delete pair, which the warning
// does not see through (a known false positive of coroutine frames).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<Result<JobReply>> JobClient::submit(Job job) { return submit_impl(std::move(job), {}); }

asio::awaitable<Result<JobReply>> JobClient::submit_stream(Job job, DeltaHandler on_delta) {
  job.stream = true;
  return submit_impl(std::move(job), std::move(on_delta));
}

asio::awaitable<Result<JobReply>> JobClient::submit_impl(Job job, DeltaHandler on_delta) {
  auto self = impl_;
  if (self->stopped_) co_return make_error(Errc::cancelled, "job client stopped");
  const std::int64_t now = unix_ms();
  if (job.id.empty()) job.id = random_id();
  if (job.reply_to.empty()) job.reply_to = self->reply_stream_;
  if (job.enqueued_unix_ms == 0) job.enqueued_unix_ms = now;
  // No deadline given: wait no longer than a reply stream lives.
  if (job.deadline_unix_ms == 0) job.deadline_unix_ms = now + self->config_.reply_ttl_ms;
  if (job.deadline_unix_ms <= now) {
    co_return make_error(Errc::deadline_exceeded, "the deadline passed before the job was queued");
  }
  const auto p = static_cast<std::size_t>(job.priority);
  if (self->sampled_depth_[p] + self->added_since_sample_[p] >= depth_bound(self->config_, job.priority)) {
    co_return make_error(Errc::overloaded, "the LLM queue is full; retry later");
  }
  const bool limited = job.priority == Priority::interactive && self->admission_.enabled();
  if (limited && !self->admission_.try_acquire()) {
    co_return make_error(Errc::overloaded, "the LLM queue is backed up (jobs wait longer than queue.max_wait_ms); retry later");
  }
  const auto remaining = std::chrono::milliseconds(job.deadline_unix_ms - now);
  auto on_cancel = [self, id = job.id] { self->cancel_wait(id); };
  auto op = Impl::await_reply(self, job.id, encode_job(job, self->config_.compact_jobs), p, remaining,
                              job.enqueued_unix_ms, std::move(on_delta));
  auto [ep, result] = co_await await_on(self->strand_, std::move(op), std::move(on_cancel));
  if (limited) {
    if (!ep && result) {
      self->admission_.release(result->queue_wait_ms, result->llm_ms, AdmissionLimit::Clock::now());
    } else if (!ep && result.error().code == Errc::deadline_exceeded) {
      // Waited out its whole deadline in the queue (or the worker found it expired): the
      // strongest sign of a backlog there is.
      self->admission_.release(std::numeric_limits<double>::infinity(), 0, AdmissionLimit::Clock::now());
    } else {
      self->admission_.release_without_reply();
    }
  }
  if (ep) co_return make_error(Errc::cancelled, "request cancelled while waiting for the LLM");
  co_return std::move(result);
}
#pragma GCC diagnostic pop

asio::awaitable<Result<std::int64_t>> JobClient::live_workers() {
  auto self = impl_;
  const std::int64_t since = unix_ms() - self->config_.worker_stale_ms;
  auto r = co_await self->redis_.command(
      redis::make_command("ZCOUNT", workers_key(self->config_), "(" + std::to_string(since), "+inf"));
  if (!r) co_return r.error();
  if (r->kind != redis::Reply::Kind::integer) {
    co_return make_error(Errc::internal, "unexpected ZCOUNT reply: " + r->str);
  }
  co_return static_cast<std::int64_t>(r->integer);
}

asio::awaitable<Result<std::int64_t>> JobClient::depth() {
  auto self = impl_;
  std::vector<redis::Command> cmds;
  for (const auto& stream : self->streams_) cmds.push_back(redis::make_command("XLEN", stream));
  auto r = co_await self->redis_.pipeline(std::move(cmds));
  if (!r) co_return r.error();
  std::int64_t total = 0;
  for (const auto& reply : *r) {
    if (reply.kind != redis::Reply::Kind::integer) {
      co_return make_error(Errc::internal, "unexpected XLEN reply: " + reply.str);
    }
    total += reply.integer;
  }
  co_return total;
}

std::int64_t JobClient::in_flight() const { return impl_->in_flight_.load(); }

bool JobClient::saturated(Priority priority) const {
  const auto p = static_cast<std::size_t>(priority);
  if (priority == Priority::interactive && !impl_->admission_.would_admit()) return true;
  return impl_->sampled_depth_[p] + impl_->added_since_sample_[p] >= depth_bound(impl_->config_, priority);
}

std::int64_t JobClient::forgotten() const { return impl_->forgotten_.load(); }

const std::string& JobClient::reply_stream() const { return impl_->reply_stream_; }

}  // namespace ragd::queue
