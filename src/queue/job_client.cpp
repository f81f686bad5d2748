// Gateway side of the job queue.
//
// Jobs are appended with a plain `XADD <jobs_stream> * job <json>`, without MAXLEN: trimming
// would silently drop jobs no worker has seen. The stream is bounded by shedding instead:
// submit() refuses with Errc::overloaded once the depth estimate reaches max_depth. The
// estimate is the XLEN sampled every kDepthSampleMs by a background coroutine plus the jobs
// this process added since that sample, so shedding costs no round trip per job. Workers
// XDEL each job after acknowledging it, so XLEN counts exactly the unacknowledged jobs.
//
// Waiters live in the frame of the coroutine awaiting them (on this client's strand) and are
// found by job id; the reply reader and the enqueue step wake them by cancelling the timer
// they sleep on, whose expiry is the job's deadline.
#include "ragd/queue/job_queue.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"
#include "queue/stream_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <unordered_map>

namespace ragd::queue {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kDepthSampleMs = 50ms;
constexpr auto kRetryPause = 100ms;
}  // namespace

struct JobClient::Impl : std::enable_shared_from_this<JobClient::Impl> {
  struct Waiter {
    std::optional<Result<JobReply>> result;
    asio::steady_timer* timer = nullptr;

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
        reply_stream_(std::string(detail::kRepliesPrefix) + gateway_id_),
        reader_conn_(redis.dedicated_connection()) {}

  static asio::awaitable<Result<JobReply>> await_reply(std::shared_ptr<Impl> self, std::string id,
                                                       std::string payload,
                                                       std::chrono::milliseconds remaining) {
    if (self->stopped_) co_return make_error(Errc::cancelled, "job client stopped");
    asio::steady_timer timer(self->strand_, remaining);
    Waiter w;
    w.timer = &timer;
    if (!self->waiters_.emplace(id, &w).second) {
      co_return make_error(Errc::bad_request, "duplicate job id");
    }
    ++self->in_flight_;
    ++self->added_since_sample_;
    // The XADD runs on its own: cancelling this wait (client gone) must not cancel a command
    // in flight, which would reset a pooled connection shared with other requests.
    asio::co_spawn(self->strand_, enqueue(self, id, std::move(payload)), asio::detached);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    self->waiters_.erase(id);
    --self->in_flight_;
    if (w.result) co_return std::move(*w.result);
    if (!ec) co_return make_error(Errc::deadline_exceeded, "no reply from a worker before the deadline");
    co_return make_error(Errc::cancelled, "request cancelled while waiting for the LLM");
  }

  static asio::awaitable<void> enqueue(std::shared_ptr<Impl> self, std::string id,
                                       std::string payload) {
    if (self->stopped_) co_return;  // the waiter is already failed; the Client may be going away
    auto r = co_await self->redis_.command(redis::make_command(
        "XADD", self->config_.jobs_stream, "*", detail::kJobField, payload));
    if (r && !r->is_error()) co_return;
    auto it = self->waiters_.find(id);
    if (it == self->waiters_.end()) co_return;
    if (!r) {
      it->second->finish(make_error(Errc::unavailable, "job queue unavailable: " + r.error().message));
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
      auto entries = detail::parse_stream_read(*r);
      if (entries.empty()) continue;
      redis::Command xdel = {"XDEL", self->reply_stream_};
      for (const auto& e : entries) {
        last_id = e.id;
        xdel.push_back(e.id);
        self->dispatch_reply(e);
      }
      std::vector<redis::Command> cleanup = {
          std::move(xdel),
          redis::make_command("PEXPIRE", self->reply_stream_, self->config_.reply_ttl_ms)};
      auto c = co_await self->reader_conn_->pipeline(std::move(cleanup));
      if (!c) spdlog::debug("reply stream cleanup failed: {}", c.error().message);
    }
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
    if (!reply->ok && reply->error_code == "deadline_exceeded") {
      it->second->finish(make_error(Errc::deadline_exceeded, "the job's deadline passed in the queue"));
      return;
    }
    it->second->finish(std::move(*reply));
  }

  static asio::awaitable<void> sample_depth(std::shared_ptr<Impl> self) {
    while (!self->stopped_) {
      auto r = co_await self->redis_.command(redis::make_command("XLEN", self->config_.jobs_stream));
      if (r && r->kind == redis::Reply::Kind::integer) {
        self->sampled_depth_ = r->integer;
        self->added_since_sample_ = 0;
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
  std::unique_ptr<redis::Connection> reader_conn_;
  std::unordered_map<std::string, Waiter*> waiters_;  // strand only
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> sampled_depth_{0};
  std::atomic<std::int64_t> added_since_sample_{0};
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

asio::awaitable<Result<JobReply>> JobClient::submit(Job job) {
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
  if (self->sampled_depth_ + self->added_since_sample_ >= self->config_.max_depth) {
    co_return make_error(Errc::overloaded, "the LLM queue is full; retry later");
  }
  auto [ep, result] = co_await asio::co_spawn(
      self->strand_,
      Impl::await_reply(self, job.id, encode_job(job),
                        std::chrono::milliseconds(job.deadline_unix_ms - now)),
      kNoThrow);
  if (ep) co_return make_error(Errc::cancelled, "request cancelled while waiting for the LLM");
  co_return std::move(result);
}

asio::awaitable<Result<std::int64_t>> JobClient::live_workers() {
  auto self = impl_;
  const std::int64_t since = unix_ms() - self->config_.worker_stale_ms;
  auto r = co_await self->redis_.command(
      redis::make_command("ZCOUNT", detail::kWorkersKey, "(" + std::to_string(since), "+inf"));
  if (!r) co_return r.error();
  if (r->kind != redis::Reply::Kind::integer) {
    co_return make_error(Errc::internal, "unexpected ZCOUNT reply: " + r->str);
  }
  co_return static_cast<std::int64_t>(r->integer);
}

asio::awaitable<Result<std::int64_t>> JobClient::depth() {
  auto self = impl_;
  auto r = co_await self->redis_.command(redis::make_command("XLEN", self->config_.jobs_stream));
  if (!r) co_return r.error();
  if (r->kind != redis::Reply::Kind::integer) {
    co_return make_error(Errc::internal, "unexpected XLEN reply: " + r->str);
  }
  co_return static_cast<std::int64_t>(r->integer);
}

std::int64_t JobClient::in_flight() const { return impl_->in_flight_.load(); }

const std::string& JobClient::reply_stream() const { return impl_->reply_stream_; }

}  // namespace ragd::queue
