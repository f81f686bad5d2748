// Helpers for coroutine test bodies: fatal assertions, sleeping and polling.
//
// Fatal assertions for coroutine test bodies. GoogleTest's ASSERT_* expand to `return`, which
// a coroutine cannot use; these expand to `co_return` instead and otherwise behave the same
// (including `<< "more context"`). Use them only inside coroutines returning awaitable<void>.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#define CO_ASSERT_TRUE(cond)                                                 \
  GTEST_AMBIGUOUS_ELSE_BLOCKER_                                              \
  if (static_cast<bool>(cond))                                               \
    ;                                                                        \
  else                                                                       \
    co_return GTEST_MESSAGE_("Expected to be true: " #cond,                  \
                             ::testing::TestPartResult::kFatalFailure)

#define CO_ASSERT_FALSE(cond) CO_ASSERT_TRUE(!(cond))

#define CO_ASSERT_EQ(a, b)                                                                  \
  GTEST_AMBIGUOUS_ELSE_BLOCKER_                                                             \
  if (const ::testing::AssertionResult gtest_ar =                                           \
          ::testing::internal::EqHelper::Compare(#a, #b, a, b))                             \
    ;                                                                                       \
  else                                                                                      \
    co_return GTEST_MESSAGE_(gtest_ar.failure_message(), ::testing::TestPartResult::kFatalFailure)

namespace ragd::test {

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

// Polls `pred` every few milliseconds for at most `limit`; true once it holds.
inline boost::asio::awaitable<bool> eventually(std::function<bool()> pred, std::chrono::milliseconds limit) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
  co_return true;
}

}  // namespace ragd::test
