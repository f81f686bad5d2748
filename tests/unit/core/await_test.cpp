#include "ragd/core/await.hpp"

#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <thread>

namespace ragd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(RunOn, DoesTheWorkOnThePoolAndResumesOnTheCallersThread) {
  asio::thread_pool pool(1);
  const auto io_thread = std::this_thread::get_id();
  auto ids = test::run_coro<std::pair<std::thread::id, std::thread::id>>(
      [&](asio::io_context&) -> asio::awaitable<std::pair<std::thread::id, std::thread::id>> {
        auto work = [] { return std::this_thread::get_id(); };
        auto worker = co_await run_on(pool.get_executor(), std::move(work));
        co_return std::pair{worker, std::this_thread::get_id()};
      });
  EXPECT_NE(ids.first, io_thread) << "the work ran on the I/O thread";
  EXPECT_EQ(ids.second, io_thread) << "the coroutine did not come back to its executor";
}

TEST(RunOn, PastItsDeadlineIsDeadlineExceededNamingTheWorkAndLeavesAtOnce) {
  asio::thread_pool pool(1);
  std::promise<void> release;
  auto held = release.get_future().share();
  auto late = test::run_coro<Result<int>>([&](asio::io_context&) -> asio::awaitable<Result<int>> {
    auto work = [held]() -> Result<int> {
      held.wait();
      return 7;
    };
    auto r = co_await run_on(pool.get_executor(), std::move(work), 30ms, "the search");
    // The work is still running: the caller did not wait for it. It ends before the
    // caller's io_context does, as a Handoff's producer must (it completes the waiter's
    // channel, which belongs to that context; the gateway destroys its pools before its
    // io_context for the same reason).
    release.set_value();
    pool.join();
    co_return r;
  });
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::deadline_exceeded);
  EXPECT_EQ(late.error().message, "the search did not finish in time");
}

TEST(RunOn, WithNoTimeLeftFailsWithoutRunningTheWork) {
  asio::thread_pool pool(1);
  std::atomic<bool> ran{false};
  auto r = test::run_coro<Result<int>>([&](asio::io_context&) -> asio::awaitable<Result<int>> {
    auto work = [&ran]() -> Result<int> {
      ran = true;
      return 1;
    };
    co_return co_await run_on(pool.get_executor(), std::move(work), 0ms, "retrieval");
  });
  pool.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded);
  EXPECT_EQ(r.error().message, "retrieval had no time left before the deadline");
  EXPECT_FALSE(ran.load());
}

TEST(RunOn, AnExceptionOfTheWorkIsAnInternalErrorForAResult) {
  asio::thread_pool pool(1);
  auto r = test::run_coro<Result<int>>([&](asio::io_context&) -> asio::awaitable<Result<int>> {
    auto work = []() -> Result<int> { throw std::runtime_error("index broken"); };
    co_return co_await run_on(pool.get_executor(), std::move(work));
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::internal);
  EXPECT_EQ(r.error().message, "index broken");
}

TEST(Handoff, AValueSetBeforeTheWaitStartsIsDone) {
  auto got = test::run_coro<int>([&](asio::io_context& io) -> asio::awaitable<int> {
    auto h = std::make_shared<Handoff<int>>(io.get_executor());
    h->set(42);
    if (co_await Handoff<int>::wait(h, 1s) != Waited::done) co_return -1;
    co_return h->value();
  });
  EXPECT_EQ(got, 42);
}

TEST(Handoff, AWaitWhoseDeadlinePassesIsTimedOut) {
  auto waited = test::run_coro<Waited>([&](asio::io_context& io) -> asio::awaitable<Waited> {
    auto h = std::make_shared<Handoff<int>>(io.get_executor());
    co_return co_await Handoff<int>::wait(h, 20ms);
  });
  EXPECT_EQ(waited, Waited::timed_out);
}

// A producer that finishes after its waiter left and after the waiter's io_context is gone
// (a pool job outliving a caller that timed out, at shutdown or in a short-lived context)
// sets the result and drops the last reference without touching that context: the channel
// lived in the waiting coroutine. (When the Handoff owned the channel, both went through
// the destroyed context's channel service: heap-use-after-free under ASan.)
TEST(Handoff, AResultSetAfterTheWaiterTimedOutAndItsIoContextIsGoneTouchesNothingOfIt) {
  std::shared_ptr<Handoff<int>> late;
  Waited waited = Waited::done;
  {
    asio::io_context io;
    late = std::make_shared<Handoff<int>>(io.get_executor());
    asio::co_spawn(io, [late, &waited]() -> asio::awaitable<void> { waited = co_await Handoff<int>::wait(late, 5ms); },
                   asio::detached);
    io.run();
  }
  EXPECT_EQ(waited, Waited::timed_out);
  late->set(7);
  EXPECT_EQ(late->value(), 7);
  late.reset();
}

TEST(Handoff, AResultSetAfterAPendingWaitWasDestroyedWithItsIoContextTouchesNothingOfIt) {
  std::shared_ptr<Handoff<int>> late;
  bool resumed = false;
  {
    asio::io_context io;
    late = std::make_shared<Handoff<int>>(io.get_executor());
    asio::co_spawn(io, [late, &resumed]() -> asio::awaitable<void> {
      co_await Handoff<int>::wait(late);
      resumed = true;
    }, asio::detached);
    io.poll();  // the wait has started; the io_context goes with the coroutine still in it
    EXPECT_GT(late.use_count(), 1) << "the wait has not started";
  }
  EXPECT_FALSE(resumed);
  EXPECT_EQ(late.use_count(), 1) << "the destroyed coroutine still holds the Handoff";
  late->set(7);
  late.reset();
}

TEST(WithTimeout, CancelsAnOperationThatOutlastsItsTimeout) {
  auto r = test::run_coro<Result<int>>([&](asio::io_context&) -> asio::awaitable<Result<int>> {
    auto slow = []() -> asio::awaitable<Result<int>> {
      asio::steady_timer t(co_await asio::this_coro::executor, 10s);
      auto [ec] = co_await t.async_wait(kNoThrow);
      if (ec) co_return make_error(Errc::cancelled, "cancelled");
      co_return 1;
    };
    co_return co_await with_timeout(slow(), 20ms, "the profile lookup");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded);
  EXPECT_EQ(r.error().message, "the profile lookup did not finish in time");
}

}  // namespace
}  // namespace ragd
