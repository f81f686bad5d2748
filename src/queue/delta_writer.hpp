// The worker's side of a streamed job's deltas (job_stream.hpp): pieces published from any
// thread are appended to the job's reply stream in order, the first at once, later ones
// coalesced into entries at least `coalesce` apart, at most kMaxDeltaEntries of them.
//
// Thread-safety: publish() from any thread; everything else runs on the writer's strand.
#pragma once

#include "ragd/queue/job_stream.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace ragd::queue::detail {

class DeltaWriter : public std::enable_shared_from_this<DeltaWriter> {
 public:
  // `redis` must outlive every flush (the runner's client; drain() before letting it go).
  DeltaWriter(boost::asio::strand<boost::asio::any_io_executor> strand, redis::Client& redis,
              std::string reply_stream, std::string job_id, std::int64_t stream_ttl_ms,
              std::chrono::milliseconds coalesce);

  void publish(std::string_view text);
  // Completes once every piece published before it was written (or dropped past the cap).
  boost::asio::awaitable<void> drain();

  const std::string& run_id() const { return run_id_; }

 private:
  static boost::asio::awaitable<void> flush_loop(std::shared_ptr<DeltaWriter> self);
  static boost::asio::awaitable<void> drain_on_strand(std::shared_ptr<DeltaWriter> self);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  redis::Client& redis_;
  std::string stream_;
  std::string job_id_;
  std::string run_id_;
  std::int64_t ttl_ms_;
  std::chrono::milliseconds coalesce_;
  std::string pending_;       // strand only, as is all below
  std::int64_t seq_ = 0;
  int entries_ = 0;
  bool flushing_ = false;
  bool closing_ = false;      // drain() was called: no more coalescing pauses
  boost::asio::steady_timer pause_;
  boost::asio::steady_timer drained_;
};

}  // namespace ragd::queue::detail
