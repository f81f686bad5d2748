#include "ragd/core/rendezvous.hpp"

#include "test_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace ragd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using Replies = Rendezvous<std::string, std::string>;

TEST(Rendezvous, HandsAReplyFromAnotherThreadToTheWaiterOfItsId) {
  Replies replies;
  std::thread producer;
  auto got = test::run_coro<Replies::Outcome>([&](asio::io_context& io) -> asio::awaitable<Replies::Outcome> {
    auto ticket = replies.enter("job-1", io.get_executor());
    producer = std::thread([&] {
      replies.annotate("job-1", [](std::string& note) { note = "1-0"; });
      replies.deliver("job-2", "not mine");
      replies.deliver("job-1", "the answer");
    });
    co_return co_await replies.wait(ticket, 10s);
  });
  producer.join();
  EXPECT_EQ(got.waited, Waited::done);
  ASSERT_TRUE(got.value);
  EXPECT_EQ(*got.value, "the answer");
  EXPECT_EQ(got.note, "1-0");
  EXPECT_EQ(replies.waiting(), 0u);
}

TEST(Rendezvous, RefusesASecondWaiterForTheSameId) {
  asio::io_context io;
  Replies replies;
  auto first = replies.enter("job-1", io.get_executor());
  auto second = replies.enter("job-1", io.get_executor());
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ(replies.waiting(), 1u);
}

TEST(Rendezvous, AWaitPastItsDeadlineKeepsTheNoteAndForgetsTheId) {
  Replies replies;
  auto got = test::run_coro<Replies::Outcome>([&](asio::io_context& io) -> asio::awaitable<Replies::Outcome> {
    auto ticket = replies.enter("job-1", io.get_executor());
    replies.annotate("job-1", [](std::string& note) { note = "5-0"; });
    co_return co_await replies.wait(ticket, 20ms);
  });
  EXPECT_EQ(got.waited, Waited::timed_out);
  EXPECT_FALSE(got.value);
  EXPECT_EQ(got.note, "5-0");
  EXPECT_EQ(replies.waiting(), 0u);
  EXPECT_FALSE(replies.deliver("job-1", "late")) << "a reply for a waiter that left was taken";
}

TEST(Rendezvous, TheFirstDeliveryWins) {
  Replies replies;
  auto got = test::run_coro<Replies::Outcome>([&](asio::io_context& io) -> asio::awaitable<Replies::Outcome> {
    auto ticket = replies.enter("job-1", io.get_executor());
    EXPECT_TRUE(replies.deliver("job-1", "first"));
    EXPECT_FALSE(replies.deliver("job-1", "second"));
    co_return co_await replies.wait(ticket, 10s);
  });
  ASSERT_TRUE(got.value);
  EXPECT_EQ(*got.value, "first");
}

TEST(Rendezvous, DeliverAllEndsEveryWait) {
  Replies replies;
  auto n = test::run_coro<int>([&](asio::io_context& io) -> asio::awaitable<int> {
    auto a = replies.enter("a", io.get_executor());
    auto b = replies.enter("b", io.get_executor());
    replies.deliver_all("stopped");
    auto ra = co_await replies.wait(a, 10s);
    auto rb = co_await replies.wait(b, 10s);
    co_return (ra.value == std::optional<std::string>("stopped")) + (rb.value == std::optional<std::string>("stopped"));
  });
  EXPECT_EQ(n, 2);
}

TEST(Rendezvous, ACancelledWaiterLeavesAtOnceAndForgetsTheId) {
  asio::io_context io;
  Replies replies;
  asio::cancellation_signal cancel;
  std::optional<Replies::Outcome> got;
  auto waiter = [&]() -> asio::awaitable<void> {
    auto ticket = replies.enter("job-1", io.get_executor());
    got = co_await replies.wait(ticket, 10s);
  };
  asio::co_spawn(io, waiter(), asio::bind_cancellation_slot(cancel.slot(), [](std::exception_ptr) {}));
  io.run_one();  // the waiter is waiting
  cancel.emit(asio::cancellation_type::terminal);
  const auto started = std::chrono::steady_clock::now();
  io.run_for(5s);
  ASSERT_TRUE(got);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "the wait did not end on cancellation";
  EXPECT_EQ(got->waited, Waited::cancelled);
  EXPECT_EQ(replies.waiting(), 0u);
}

TEST(Rendezvous, ATicketDroppedWithoutWaitingForgetsTheId) {
  asio::io_context io;
  Replies replies;
  { auto ticket = replies.enter("job-1", io.get_executor()); }
  EXPECT_EQ(replies.waiting(), 0u);
  EXPECT_TRUE(replies.enter("job-1", io.get_executor()));
}

}  // namespace
}  // namespace ragd
