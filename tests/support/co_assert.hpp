// Fatal assertions for coroutine test bodies. GoogleTest's ASSERT_* expand to `return`, which
// a coroutine cannot use; these expand to `co_return` instead and otherwise behave the same
// (including `<< "more context"`). Use them only inside coroutines returning awaitable<void>.
#pragma once

#include <gtest/gtest.h>

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
