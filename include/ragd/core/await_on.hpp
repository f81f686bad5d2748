// await_on(): awaits a coroutine that must run on another executor (usually a strand that
// owns some state) with safe cancellation.
//
// Boost 1.81's co_spawn forwards the caller's cancellation to the spawned coroutine by
// dispatching onto its executor with a raw pointer to a signal that is destroyed when the
// coroutine completes; a cancellation that races completion then calls through a dangling
// pointer. Here the operation is spawned with no cancellation slot, and the caller's
// cancellation instead posts `on_cancel` to the operation's executor. `on_cancel` must hold
// only what it owns (shared or weak pointers, ids) and make the operation finish promptly.
//
// Thread-safety: as co_spawn; `on_cancel` runs on `ex`.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <tuple>

namespace ragd {

template <class T, class Executor, class OnCancel>
boost::asio::awaitable<std::tuple<std::exception_ptr, T>> await_on(Executor ex, boost::asio::awaitable<T> op,
                                                                   OnCancel on_cancel) {
  namespace asio = boost::asio;
  auto state = co_await asio::this_coro::cancellation_state;
  auto slot = state.slot();
  if (slot.is_connected()) {
    slot.assign([ex, on_cancel](asio::cancellation_type type) {
      if (type != asio::cancellation_type::none) asio::post(ex, on_cancel);
    });
  }
  auto result = co_await asio::co_spawn(
      ex, std::move(op),
      asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
  if (slot.is_connected()) slot.clear();
  co_return result;
}

}  // namespace ragd
