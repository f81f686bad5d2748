// How a coroutine awaits work under a deadline: the one idiom for it.
//
// Handoff<T> is the mechanism: one result handed from any thread to one coroutine, which
// awaits it on its own executor, with a deadline or without. A caller that is cancelled
// (its client went away, an outer deadline) or whose deadline passes leaves at once; the
// producer finishes on its own and its late result is dropped. Nothing is spawned and no
// cancellation crosses executors (Boost 1.81's co_spawn forwards a cancellation to another
// executor through a raw pointer that can dangle once the operation completes).
//
// Built on it:
// - run_on(executor, f [, timeout, what]): runs a blocking or CPU-heavy function on another
//   executor (a thread pool), so an I/O thread never does the work itself.
// - Rendezvous (rendezvous.hpp): "wait for the reply with this id" (job replies, applied
//   replication entries).
// And beside it, for an awaitable that runs on the caller's own executor and stops when
// cancelled (a Redis command, an HTTP call): with_timeout(op, timeout, what) races it
// against a timer and cancels it when the timer wins.
//
// Thread-safety: Handoff::set may be called from any thread, once; Handoff::wait by one
// coroutine on the executor the Handoff was made with. The free functions are as co_spawn.
#pragma once

#include "ragd/core/completion_token.hpp"
#include "ragd/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace ragd {

// How a wait ended.
enum class Waited {
  done,       // the result is there
  timed_out,  // the deadline passed first
  cancelled,  // the waiting coroutine was cancelled
};

inline constexpr std::chrono::milliseconds kNoDeadline = std::chrono::milliseconds::max();

template <class T>
class Handoff {
 public:
  // `waiter`: the executor of the coroutine that will wait.
  explicit Handoff(boost::asio::any_io_executor waiter) : waiter_(std::move(waiter)) {}
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // Producer side, from any thread, at most once. The waiter's channel lives in the waiting
  // coroutine, so a producer that finishes after the waiter left (and after its io_context
  // is gone) touches nothing of that context, not even when it drops the last reference.
  void set(T value) {
    std::lock_guard lock(mutex_);
    result_.emplace(std::move(value));
    if (channel_ != nullptr) channel_->try_send(boost::system::error_code{});
  }

  // Waiter side. `self` keeps the Handoff alive for a timer that fires late. When the result
  // is Waited::done, value() holds it (it was written before the wait saw it).
  static boost::asio::awaitable<Waited> wait(std::shared_ptr<Handoff> self,
                                             std::chrono::milliseconds timeout = kNoDeadline) {
    Channel channel(self->waiter_, 1);
    {
      std::lock_guard lock(self->mutex_);
      if (self->result_) co_return Waited::done;
      self->channel_ = &channel;
    }
    // However the wait ends (a result, the timer, cancellation, or this frame destroyed with
    // its io_context), the producer no longer sees the channel once it is gone.
    struct Leave {
      Handoff& h;
      ~Leave() {
        std::lock_guard lock(h.mutex_);
        h.channel_ = nullptr;
      }
    } leave{*self};
    // The timer cancels the channel, which ends the receive; a receive that succeeded got
    // the result first, even if the timer fired meanwhile.
    std::optional<boost::asio::steady_timer> timer;
    if (timeout != kNoDeadline) {
      timer.emplace(self->waiter_, timeout);
      timer->async_wait([self](boost::system::error_code ec) {
        if (ec) return;
        std::lock_guard lock(self->mutex_);
        self->timed_out_ = true;
        if (self->channel_ != nullptr) self->channel_->cancel();
      });
    }
    auto [ec] = co_await channel.async_receive(kNoThrow);
    if (timer) timer->cancel();
    std::lock_guard lock(self->mutex_);
    if (!ec || self->result_) co_return Waited::done;
    co_return self->timed_out_ ? Waited::timed_out : Waited::cancelled;
  }

  T& value() { return *result_; }

 private:
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  boost::asio::any_io_executor waiter_;
  std::mutex mutex_;
  std::optional<T> result_;        // under mutex_
  Channel* channel_ = nullptr;     // the waiting coroutine's, while it waits; under mutex_
  bool timed_out_ = false;         // under mutex_
};

// Runs `f` on `executor` and resumes the caller on its own executor with f's result. When
// `f` returns a ragd::Result<T>: an exception it throws becomes Errc::internal, a cancelled
// caller gets Errc::cancelled, and one whose `timeout` passes first gets
// Errc::deadline_exceeded ("<what> did not finish in time"); for other result types all
// three are thrown. `f` is moved onto the executor, so it must own what it uses (capture by
// value). Pass a named lambda (std::move(work)): GCC 12 destroys a lambda built inside a
// co_await expression twice.
template <class Executor, class F>
boost::asio::awaitable<std::invoke_result_t<F&>> run_on(Executor executor, F f,
                                                        std::chrono::milliseconds timeout = kNoDeadline,
                                                        const char* what = "the work") {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<F&>;
  constexpr bool kResult = std::is_constructible_v<R, Error>;
  if (timeout <= std::chrono::milliseconds::zero()) {
    if constexpr (kResult) {
      co_return make_error(Errc::deadline_exceeded, std::string(what) + " had no time left before the deadline");
    } else {
      throw boost::system::system_error(asio::error::timed_out);
    }
  }
  struct Outcome {
    std::optional<R> value;
    std::exception_ptr error;
  };
  auto handoff = std::make_shared<Handoff<Outcome>>(co_await asio::this_coro::executor);
  asio::post(executor, [handoff, f = std::move(f)]() mutable {
    Outcome out;
    try {
      out.value.emplace(f());
    } catch (...) {
      out.error = std::current_exception();
    }
    handoff->set(std::move(out));
  });
  const Waited waited = co_await Handoff<Outcome>::wait(handoff, timeout);
  if (waited == Waited::done) {
    Outcome& out = handoff->value();
    if (out.value) co_return std::move(*out.value);
    if constexpr (kResult) {
      try {
        std::rethrow_exception(out.error);
      } catch (const std::exception& e) {
        co_return make_error(Errc::internal, e.what());
      }
    }
    std::rethrow_exception(out.error);
  }
  if constexpr (kResult) {
    if (waited == Waited::timed_out) co_return make_error(Errc::deadline_exceeded, std::string(what) + " did not finish in time");
    co_return make_error(Errc::cancelled, "cancelled while the work ran");
  } else {
    throw boost::system::system_error(waited == Waited::timed_out ? asio::error::timed_out
                                                                  : asio::error::operation_aborted);
  }
}

// Runs `op` on the caller's executor; if `timeout` passes first, `op` is cancelled and the
// result is Errc::deadline_exceeded naming `what`. For operations that stop when cancelled
// and cost nothing to race (two coroutines and a parallel group per call); work on another
// executor goes through run_on or a Handoff instead.
template <class T>
boost::asio::awaitable<Result<T>> with_timeout(boost::asio::awaitable<Result<T>> op, std::chrono::milliseconds timeout,
                                               std::string what) {
  using namespace boost::asio::experimental::awaitable_operators;
  if (timeout <= std::chrono::milliseconds::zero()) {
    co_return make_error(Errc::deadline_exceeded, what + " had no time left before the deadline");
  }
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, timeout);
  auto r = co_await (std::move(op) || timer.async_wait(kNoThrow));
  if (r.index() == 0) co_return std::move(std::get<0>(r));
  co_return make_error(Errc::deadline_exceeded, what + " did not finish in time");
}

}  // namespace ragd
