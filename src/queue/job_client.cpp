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
// A submit waits for its reply through a Rendezvous keyed by job id, on its own executor;
// the reply reader (on this client's strand) delivers replies and streamed pieces by id.
// The XADD's reply and the job's reply travel on different connections, so either may be
// processed first: the entry id the XADD returns (whose time gives the queue_enqueue stage)
// is shared through an Enqueue record, which a submit answered first waits for briefly.
#include "ragd/queue/job_client.hpp"

#include "ragd/core/await.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/core/rendezvous.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/queue/admission_limit.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/redis/stream_id.hpp"
#include "queue/stream_impl.hpp"
#include "ragd/queue/job_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>
#include <atomic>
#include <mutex>

namespace ragd::queue {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kDepthSampleMs = 50ms;
// How long a submit whose reply came before its XADD's reply waits for the latter (which
// Redis sent first, on another connection) to record the queue_enqueue stage.
constexpr auto kEnqueueGrace = 200ms;
constexpr auto kRetryPause = 100ms;

// From the job's creation (the gateway's clock) to its entry's id (Redis's clock); -1 for an
// id that is not one. Clocks that disagree can make it negative: counted as 0.
double enqueue_delay_ms(const std::string& entry_id, std::int64_t enqueued_unix_ms) {
  auto id = redis::parse_stream_id(entry_id);
  if (!id) return -1;
  return std::max(0.0, static_cast<double>(static_cast<std::int64_t>(id->ms) - enqueued_unix_ms));
}
}  // namespace

struct JobClient::Impl {
  // Beside each wait, on the strand: the streamed job's handler and the run handed on.
  struct Note {
    const DeltaHandler* on_delta = nullptr;  // streamed jobs only; lives in the submit's frame
    std::string run_id;                      // the run whose pieces were handed on
    std::int64_t seq = 0;                    // the last piece handed on
    bool ended = false;                      // answered already: nothing more is handed on
  };
  using Replies = Rendezvous<Result<JobReply>, Note>;

  // What a submit and the XADD it started know of each other; either may finish first.
  struct Enqueue {
    explicit Enqueue(asio::any_io_executor waiter) : returned(std::move(waiter)) {}
    Handoff<bool> returned;  // set once the XADD has returned (whatever it returned)
    std::mutex mutex;
    std::string entry_id;    // under `mutex`; empty until the XADD returned one
    bool abandoned = false;  // under `mutex`; the submit gave up without a reply
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

  // Runs on the submitting coroutine's executor. The waiter is entered before the job is
  // written, so no reply is ever missed.
  static asio::awaitable<Result<JobReply>> await_reply(std::shared_ptr<Impl> self, Job job, std::size_t priority,
                                                       std::chrono::milliseconds remaining, DeltaHandler on_delta) {
    auto ex = co_await asio::this_coro::executor;
    auto ticket = self->replies_.enter(job.id, ex);
    if (!ticket) co_return make_error(Errc::bad_request, "duplicate job id");
    // After entering: stop() either sees this waiter or is seen here.
    if (self->stopped_) co_return make_error(Errc::cancelled, "job client stopped");
    if (on_delta) self->replies_.annotate(job.id, [&on_delta](Note& n) { n.on_delta = &on_delta; });
    ++self->in_flight_;
    ++self->added_since_sample_[priority];
    // The XADD runs on its own: cancelling this wait (client gone) must not cancel a command
    // in flight, which would reset a pooled connection shared with other requests.
    auto enqueued = std::make_shared<Enqueue>(ex);
    asio::co_spawn(self->strand_,
                   enqueue(self, job.id, encode_job(job, self->config_.compact_jobs), priority, enqueued),
                   asio::detached);
    auto out = co_await self->replies_.wait(ticket, remaining);
    --self->in_flight_;
    if (out.value) {
      if (*out.value) {
        const std::string entry_id = co_await entry_id_of(enqueued, job.deadline_unix_ms);
        if (!entry_id.empty()) (*out.value)->enqueue_ms = enqueue_delay_ms(entry_id, job.enqueued_unix_ms);
      }
      co_return std::move(*out.value);
    }
    // Given up: if the XADD has returned, its entry goes now; otherwise enqueue() removes it.
    std::string entry_id;
    {
      std::lock_guard lock(enqueued->mutex);
      enqueued->abandoned = true;
      entry_id = enqueued->entry_id;
    }
    if (!entry_id.empty()) {
      asio::co_spawn(self->strand_, forget(self, self->streams_[priority], std::move(entry_id)), asio::detached);
    }
    if (out.waited == Waited::timed_out) {
      co_return make_error(Errc::deadline_exceeded, "no reply from a worker before the deadline");
    }
    // A streamed job's model call may be running: the workers are told to stop it.
    if (on_delta) asio::co_spawn(self->strand_, notify_cancel(self, job.id), asio::detached);
    co_return make_error(Errc::cancelled, "request cancelled while waiting for the LLM");
  }

  // The entry id of an answered job: at once when its XADD returned first (the usual
  // order), else after waiting at most kEnqueueGrace (and never past the deadline); empty
  // when it did not come in time.
  static asio::awaitable<std::string> entry_id_of(std::shared_ptr<Enqueue> enqueued, std::int64_t deadline_unix_ms) {
    const auto left = std::chrono::milliseconds(deadline_unix_ms - unix_ms());
    const auto grace = std::min<std::chrono::milliseconds>(kEnqueueGrace, left);
    if (grace > std::chrono::milliseconds::zero()) {
      co_await Handoff<bool>::wait(std::shared_ptr<Handoff<bool>>(enqueued, &enqueued->returned), grace);
    }
    std::lock_guard lock(enqueued->mutex);
    co_return enqueued->entry_id;
  }

  static asio::awaitable<void> enqueue(std::shared_ptr<Impl> self, std::string id, std::string payload,
                                       std::size_t priority, std::shared_ptr<Enqueue> enqueued) {
    std::string entry_id;
    std::optional<Error> failed;
    // Once stopped, the waiter is already failed, and the Client may be going away.
    if (!self->stopped_) {
      auto r = co_await self->redis_.command(
          redis::make_command("XADD", self->streams_[priority], "*", detail::kJobField, payload));
      if (r && !r->is_error()) {
        entry_id = r->as_string().value_or("");
      } else if (!r) {
        // The cause (a Redis error, which may name hosts) is for the log, not for clients.
        spdlog::warn("job queue XADD failed: {}", log_text(r.error()));
        failed = make_error(Errc::unavailable, "the job queue is unavailable; retry later");
      } else {
        spdlog::error("job queue XADD failed: {}", r->str);
        failed = make_error(Errc::internal, "job queue rejected the job");
      }
    }
    bool abandoned = false;
    {
      std::lock_guard lock(enqueued->mutex);
      enqueued->entry_id = entry_id;
      abandoned = enqueued->abandoned;
    }
    enqueued->returned.set(true);
    if (failed) self->replies_.deliver(id, std::move(*failed));
    if (abandoned && !entry_id.empty()) co_await forget(self, self->streams_[priority], std::move(entry_id));
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
    if (!c) spdlog::debug("reply stream cleanup failed: {}", log_text(c.error()));
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
      spdlog::warn("dropping malformed job reply id={}: {}", e.id, log_text(reply.error()));
      return;
    }
    // A reply of another run than the pieces handed on: their worker died mid-answer.
    bool restarted = false;
    const bool waited_for = replies_.annotate(reply->job_id, [&](Note& n) {
      restarted = !n.run_id.empty() && reply->run_id != n.run_id;
      n.ended = true;
    });
    if (!waited_for) return;  // the waiter gave up (deadline, cancel) or a duplicate
    if (restarted) {
      replies_.deliver(reply->job_id, restarted_error());
    } else if (!reply->ok && reply->error_code == "deadline_exceeded") {
      replies_.deliver(reply->job_id, make_error(Errc::deadline_exceeded, "the job's deadline passed in the queue"));
    } else {
      const std::string job_id = reply->job_id;
      replies_.deliver(job_id, std::move(*reply));
    }
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
    // The handler runs under the rendezvous's lock, which keeps the submit's frame (that
    // holds it) alive meanwhile.
    bool restarted = false;
    replies_.annotate(d->job_id, [&](Note& n) {
      if (n.on_delta == nullptr || n.ended) return;
      if (n.run_id.empty()) {
        n.run_id = d->run_id;
      } else if (n.run_id != d->run_id) {
        restarted = n.ended = true;
        return;
      }
      if (d->seq <= n.seq) return;  // a duplicate
      n.seq = d->seq;
      (*n.on_delta)(d->text);
    });
    if (restarted) replies_.deliver(d->job_id, restarted_error());
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
    replies_.deliver_all(make_error(Errc::cancelled, "job client stopped"));
  }

  asio::strand<asio::any_io_executor> strand_;
  redis::Client& redis_;
  QueueConfig config_;
  std::string gateway_id_;
  std::string reply_stream_;
  std::array<std::string, kPriorityCount> streams_;  // by priority, highest first
  std::unique_ptr<redis::Connection> reader_conn_;
  Replies replies_;
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
  auto result = co_await Impl::await_reply(self, std::move(job), p, remaining, std::move(on_delta));
  if (limited) {
    if (result) {
      self->admission_.release(result->queue_wait_ms, result->llm_ms, AdmissionLimit::Clock::now());
    } else if (result.error().code == Errc::deadline_exceeded) {
      // Waited out its whole deadline in the queue (or the worker found it expired): the
      // strongest sign of a backlog there is.
      self->admission_.release(std::numeric_limits<double>::infinity(), 0, AdmissionLimit::Clock::now());
    } else {
      self->admission_.release_without_reply();
    }
  }
  co_return result;
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

}  // namespace ragd::queue
