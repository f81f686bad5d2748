// Single flight: concurrent callers asking for the same key share one computation.
// The first caller (the leader) starts it; it runs detached on the given executor, so a
// caller that leaves early (its own deadline passed, its client disconnected) never
// cancels it for the others. Every caller waits with its own deadline.
//
// Thread-safety: run() may be called from any thread; waiters are woken through
// thread-safe channels. The SingleFlight must outlive the computations it starts.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/core/completion_token.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ragd::cache {

template <class V>
class SingleFlight {
 public:
  using Make = std::function<boost::asio::awaitable<Result<V>>()>;

  struct Joined {
    Result<V> result;
    bool leader = false;  // this caller started the computation
  };

  explicit SingleFlight(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

  // `on_join`, when given, runs under the flights' lock as the caller joins (its argument
  // says whether it leads), before the computation can finish: what the caller attaches to
  // its flight there is attached before any later caller joins or the flight ends.
  boost::asio::awaitable<Joined> run(std::string key, Make make,
                                     std::chrono::steady_clock::time_point deadline,
                                     std::function<void(bool leader)> on_join = {}) {
    namespace asio = boost::asio;
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    auto ch = std::make_shared<Channel>(ex, 1);
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(mutex_);
      auto& slot = flights_[key];
      if (!slot) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
      flight->waiters.push_back(ch);
      if (on_join) on_join(leader);
    }
    if (leader) {
      asio::co_spawn(ex_, compute(key, flight, std::move(make)), asio::detached);
    }
    asio::steady_timer timer(ex, deadline);
    co_await (ch->async_receive(kNoThrow) ||
              timer.async_wait(kNoThrow));
    std::lock_guard lock(mutex_);
    if (flight->result) co_return Joined{*flight->result, leader};
    auto& ws = flight->waiters;
    ws.erase(std::remove(ws.begin(), ws.end(), ch), ws.end());
    co_return Joined{make_error(std::chrono::steady_clock::now() >= deadline ? Errc::deadline_exceeded
                                                                             : Errc::cancelled,
                                "gave up waiting for the shared computation"),
                     leader};
  }

  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
  }

 private:
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  struct Flight {
    std::optional<Result<V>> result;
    std::vector<std::shared_ptr<Channel>> waiters;
  };

  boost::asio::awaitable<void> compute(std::string key, std::shared_ptr<Flight> flight, Make make) {
    Result<V> r = make_error(Errc::internal, "computation failed");
    try {
      r = co_await make();
    } catch (const std::exception& e) {
      r = make_error(Errc::internal, std::string("computation failed: ") + e.what());
    }
    std::vector<std::shared_ptr<Channel>> waiters;
    {
      std::lock_guard lock(mutex_);
      flight->result = std::move(r);
      waiters.swap(flight->waiters);
      if (auto it = flights_.find(key); it != flights_.end() && it->second == flight) flights_.erase(it);
    }
    for (auto& w : waiters) w->try_send(boost::system::error_code{});
  }

  boost::asio::any_io_executor ex_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace ragd::cache
