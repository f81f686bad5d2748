// Racing an operation against a deadline, for legs and outbound calls that have no cheaper
// way to stop at one (the batched search awaits its channel against a timer of its own,
// Retriever::retrieve). It costs two spawned coroutines and a parallel group per call.
// Thread-safety: free functions.
#pragma once

#include "ragd/core/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>

namespace ragd {

// Runs `op`; if `timeout` passes first, `op` is cancelled and the result is
// Errc::deadline_exceeded naming `what`.
template <class T>
boost::asio::awaitable<Result<T>> with_timeout(boost::asio::awaitable<Result<T>> op,
                                               std::chrono::milliseconds timeout,
                                               std::string what) {
  using namespace boost::asio::experimental::awaitable_operators;
  if (timeout <= std::chrono::milliseconds::zero()) {
    co_return make_error(Errc::deadline_exceeded, what + " had no time left before the deadline");
  }
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, timeout);
  auto r = co_await (std::move(op) ||
                     timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
  if (r.index() == 0) co_return std::move(std::get<0>(r));
  co_return make_error(Errc::deadline_exceeded, what + " did not finish in time");
}

}  // namespace ragd
