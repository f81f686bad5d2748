#include "ragd/cache/single_flight.hpp"

#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <atomic>

using namespace ragd;
using namespace ragd::cache;
namespace asio = boost::asio;

namespace {
asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}
}  // namespace

TEST(SingleFlight, FiveHundredConcurrentCallersShareOneComputation) {
  asio::io_context io;
  SingleFlight<std::string> flights(io.get_executor());
  std::atomic<int> computations{0};
  std::vector<std::string> answers;
  int leaders = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 500; ++i) {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      // Named first: GCC 12 destroys a lambda built inside a co_await expression twice.
      SingleFlight<std::string>::Make make = [&]() -> asio::awaitable<Result<std::string>> {
        ++computations;
        co_await sleep_ms(50);
        co_return std::string("answer");
      };
      auto j = co_await flights.run("k", std::move(make), deadline);
      leaders += j.leader;
      answers.push_back(j.result ? *j.result : "error");
    }, asio::detached);
  }
  io.run();
  EXPECT_EQ(computations.load(), 1);
  EXPECT_EQ(leaders, 1);
  ASSERT_EQ(answers.size(), 500u);
  for (const auto& a : answers) EXPECT_EQ(a, "answer");
  EXPECT_EQ(flights.in_flight(), 0u);
}

TEST(SingleFlight, AWaiterWhoseDeadlinePassesLeavesWithoutCancellingTheOthers) {
  asio::io_context io;
  SingleFlight<int> flights(io.get_executor());
  SingleFlight<int>::Make make = [&]() -> asio::awaitable<Result<int>> {
    co_await sleep_ms(200);
    co_return 7;
  };
  Result<int> impatient = 0, patient = 0;
  auto now = std::chrono::steady_clock::now();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    impatient = (co_await flights.run("k", make, now + std::chrono::milliseconds(20))).result;
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    patient = (co_await flights.run("k", make, now + std::chrono::seconds(5))).result;
  }, asio::detached);
  io.run();
  ASSERT_FALSE(impatient);
  EXPECT_EQ(impatient.error().code, Errc::deadline_exceeded);
  ASSERT_TRUE(patient);
  EXPECT_EQ(*patient, 7);
}

TEST(SingleFlight, DifferentKeysComputeSeparatelyAndErrorsReachEveryWaiter) {
  asio::io_context io;
  SingleFlight<int> flights(io.get_executor());
  std::atomic<int> computations{0};
  std::vector<Result<int>> results;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int i = 0; i < 6; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      SingleFlight<int>::Make make = [&, i]() -> asio::awaitable<Result<int>> {
        ++computations;
        co_await sleep_ms(20);
        if (i % 2) co_return make_error(Errc::upstream_error, "boom");
        co_return 1;
      };
      auto j = co_await flights.run("k" + std::to_string(i % 2), std::move(make), deadline);
      results.push_back(j.result);
    }, asio::detached);
  }
  io.run();
  EXPECT_EQ(computations.load(), 2);
  int ok = 0, failed = 0;
  for (auto& r : results) (r ? ok : failed)++;
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(failed, 3);
}

TEST(SingleFlight, WorksAcrossThreads) {
  asio::io_context io;
  SingleFlight<int> flights(io.get_executor());
  std::atomic<int> computations{0}, answered{0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 200; ++i) {
    asio::co_spawn(asio::make_strand(io), [&]() -> asio::awaitable<void> {
      SingleFlight<int>::Make make = [&]() -> asio::awaitable<Result<int>> {
        ++computations;
        co_await sleep_ms(30);
        co_return 5;
      };
      auto j = co_await flights.run("k", std::move(make), deadline);
      if (j.result && *j.result == 5) ++answered;
    }, asio::detached);
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) ts.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : ts) t.join();
  EXPECT_LE(computations.load(), 2);  // a caller arriving after completion starts anew
  EXPECT_EQ(answered.load(), 200);
}
