#include "queue/delta_writer.hpp"

#include "ragd/core/completion_token.hpp"
#include "ragd/core/ids.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

namespace ragd::queue::detail {

namespace asio = boost::asio;

DeltaWriter::DeltaWriter(asio::strand<asio::any_io_executor> strand, redis::Client& redis, std::string reply_stream,
                         std::string job_id, std::int64_t stream_ttl_ms, std::chrono::milliseconds coalesce)
    : strand_(strand),
      redis_(redis),
      stream_(std::move(reply_stream)),
      job_id_(std::move(job_id)),
      run_id_(random_id().substr(0, 16)),
      ttl_ms_(stream_ttl_ms),
      coalesce_(coalesce),
      pause_(strand_),
      drained_(strand_) {}

void DeltaWriter::publish(std::string_view text) {
  if (text.empty()) return;
  asio::post(strand_, [self = shared_from_this(), piece = std::string(text)]() mutable {
    if (self->entries_ >= kMaxDeltaEntries) return;  // the reply carries the rest
    self->pending_ += piece;
    if (!self->flushing_) {
      self->flushing_ = true;
      asio::co_spawn(self->strand_, flush_loop(self), asio::detached);
    }
  });
}

asio::awaitable<void> DeltaWriter::flush_loop(std::shared_ptr<DeltaWriter> self) {
  while (!self->pending_.empty() && self->entries_ < kMaxDeltaEntries) {
    const auto began = std::chrono::steady_clock::now();
    JobDelta d{self->job_id_, self->run_id_, ++self->seq_, std::move(self->pending_)};
    self->pending_.clear();
    std::vector<redis::Command> cmds = {delta_command(self->stream_, d)};
    // The run's first entry may create the reply stream, so it sets the stream's expiry; later
    // ones need not: the asker renews it after every read, and the reply renews it again.
    if (d.seq == 1) cmds.push_back(redis::make_command("PEXPIRE", self->stream_, self->ttl_ms_));
    auto r = co_await self->redis_.pipeline(std::move(cmds));
    // A lost delta costs the asker only earliness: the reply carries the whole answer.
    if (!r) spdlog::debug("job={} delta not written: {}", self->job_id_, log_text(r.error()));
    ++self->entries_;
    if (self->closing_) continue;
    // Pieces arriving during the pause join the next entry.
    self->pause_.expires_at(began + self->coalesce_);
    co_await self->pause_.async_wait(kNoThrow);
  }
  if (self->entries_ >= kMaxDeltaEntries) self->pending_.clear();
  self->flushing_ = false;
  self->drained_.cancel();
}

asio::awaitable<void> DeltaWriter::drain_on_strand(std::shared_ptr<DeltaWriter> self) {
  self->closing_ = true;
  self->pause_.cancel();
  while (self->flushing_) {
    self->drained_.expires_after(std::chrono::seconds(1));
    co_await self->drained_.async_wait(kNoThrow);
  }
}

asio::awaitable<void> DeltaWriter::drain() {
  co_await asio::co_spawn(strand_, drain_on_strand(shared_from_this()), asio::use_awaitable);
}

}  // namespace ragd::queue::detail
