// run_on(): runs a blocking or CPU-heavy function on another executor (a thread pool) and
// resumes the awaiting coroutine on its own executor, so an I/O thread never does the
// work itself. A plain `co_await asio::post(pool, use_awaitable)` does not do this: its
// completion is dispatched back to the coroutine's executor, so the code after it would
// still run on the I/O thread. co_spawn onto the pool runs the function there, and the
// completion of co_spawn is delivered to the awaiting coroutine's executor.
//
// Exceptions thrown by `f` are rethrown in the awaiting coroutine. `f` is moved into the
// spawned frame, so it must own what it uses (capture by value).
//
// run_on itself is deliberately not a coroutine, and callers should pass a named lambda
// (std::move(work)) rather than build one inside the co_await expression: GCC 12
// mishandles temporaries with non-trivial destructors in co_await expressions and
// destroys such a lambda's captures twice.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace ragd::retrieval {

template <class Executor, class F>
boost::asio::awaitable<std::invoke_result_t<F&>> run_on(Executor executor, F f) {
  using R = std::invoke_result_t<F&>;
  return boost::asio::co_spawn(
      std::move(executor),
      [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); },
      boost::asio::use_awaitable);
}

}  // namespace ragd::retrieval
