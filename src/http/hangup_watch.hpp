// Per connection: cancels the running handler when the client hangs up or the route's
// backstop passes. The handler is awaited directly by the connection's coroutine, which is
// spawned bound to `signal`: emitting it cancels whatever the handler awaits at that moment.
// Nothing here costs a coroutine per request; the watch is a one-byte peek (armed once the
// handler yields; it tries at once, then waits on the socket's existing edge-triggered
// registration) and a timer, both completing into plain callbacks.
//
// Thread-safety: every callback runs on the connection's strand, as the connection's
// coroutine does, and checks `generation` so that a completion left over from an earlier
// request cannot touch a later one.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace ragd::http {

class HangupWatch {
 public:
  explicit HangupWatch(const boost::asio::any_io_executor& ex) : backstop_(ex) {}

  // The signal the connection's coroutine is bound to.
  boost::asio::cancellation_slot slot() { return signal_.slot(); }

  // A handler starts: watch `socket` for a hang-up, and cancel after `limit` when positive.
  void start(const std::shared_ptr<HangupWatch>& self, boost::asio::ip::tcp::socket& socket,
             std::chrono::milliseconds limit);
  // The handler returned: the peek and the timer go (the socket has no other operation
  // pending while a handler runs).
  void stop(boost::asio::ip::tcp::socket& socket);

  // Why the handler was cancelled, if it was.
  bool timed_out() const { return timed_out_; }
  bool hung_up() const { return hung_up_; }

 private:
  bool current(std::uint64_t gen) const { return active_ && gen == generation_; }

  boost::asio::cancellation_signal signal_;
  boost::asio::steady_timer backstop_;
  std::uint64_t generation_ = 0;
  bool active_ = false;
  bool peeking_ = false;  // the peek was armed for the current request
  bool timed_out_ = false;
  bool hung_up_ = false;
  char peeked_ = 0;
};

}  // namespace ragd::http
