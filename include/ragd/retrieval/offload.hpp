// run_on(): runs a blocking or CPU-heavy function on another executor (a thread pool) and
// resumes the awaiting coroutine on its own executor, so an I/O thread never does the work
// itself.
//
// The result comes back through a thread-safe channel that the caller awaits on its own
// executor. So a caller that is cancelled (its deadline raced it, its client went away)
// leaves at once with Errc::cancelled, while the work finishes on the pool and its result
// is dropped. (Boost 1.81's co_spawn forwards cancellation to another executor through a
// raw pointer that can dangle once the operation completes; this avoids it.)
//
// When `f` returns a ragd::Result<T>, an exception it throws becomes Errc::internal and a
// cancelled caller gets Errc::cancelled; for other types both are rethrown.
// `f` is moved onto the pool, so it must own what it uses (capture by value). Pass a named
// lambda (std::move(work)): GCC 12 destroys a lambda built inside a co_await expression
// twice.
#pragma once

#include "ragd/core/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace ragd::retrieval {

template <class Executor, class F>
boost::asio::awaitable<std::invoke_result_t<F&>> run_on(Executor executor, F f) {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<F&>;
  struct Shared {
    std::optional<R> result;
    std::exception_ptr error;
    asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
    explicit Shared(asio::any_io_executor ex) : done(std::move(ex), 1) {}
  };
  auto shared = std::make_shared<Shared>(co_await asio::this_coro::executor);
  asio::post(executor, [shared, f = std::move(f)]() mutable {
    try {
      shared->result.emplace(f());
    } catch (...) {
      shared->error = std::current_exception();
    }
    shared->done.try_send(boost::system::error_code{});
  });
  auto [ec] = co_await shared->done.async_receive(asio::as_tuple(asio::use_awaitable));
  // The channel's send happens after `result` is set, and the receive after the send.
  if (!ec && shared->result) co_return std::move(*shared->result);
  if (!ec && shared->error) {
    if constexpr (std::is_constructible_v<R, Error>) {
      try {
        std::rethrow_exception(shared->error);
      } catch (const std::exception& e) {
        co_return make_error(Errc::internal, e.what());
      }
    }
    std::rethrow_exception(shared->error);
  }
  if constexpr (std::is_constructible_v<R, Error>) {
    co_return make_error(Errc::cancelled, "cancelled while the work ran");
  } else {
    throw boost::system::system_error(asio::error::operation_aborted);
  }
}

}  // namespace ragd::retrieval
