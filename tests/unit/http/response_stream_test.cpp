// ResponseStream on one io_context: what the connection's side receives from the producer's
// writes, an ordinary response before the stream starts, the bound for slow readers, and the
// producer's cancellation.
#include "ragd/http/response_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::http;
namespace asio = boost::asio;

namespace {

ResponseStream::Next next_of(asio::io_context& io, ResponseStream& s) {
  auto f = asio::co_spawn(io, s.next(), asio::use_future);
  io.run();
  io.restart();
  return f.get();
}

}  // namespace

TEST(ResponseStream, HandsOnWhatWasWrittenThenTheEnd) {
  asio::io_context io;
  auto s = std::make_shared<ResponseStream>(io.get_executor(), 1024);
  EXPECT_FALSE(s->started());
  EXPECT_TRUE(s->write("event: a\n\n"));
  EXPECT_TRUE(s->write("event: b\n\n"));
  EXPECT_TRUE(s->started());
  auto n = next_of(io, *s);
  EXPECT_EQ(n.bytes, "event: a\n\nevent: b\n\n");
  EXPECT_FALSE(n.ended);
  s->end();
  EXPECT_FALSE(s->write("late"));
  n = next_of(io, *s);
  EXPECT_TRUE(n.bytes.empty());
  EXPECT_TRUE(n.ended);
  EXPECT_FALSE(n.response);
}

TEST(ResponseStream, AnErrorBeforeTheFirstWriteIsAnOrdinaryResponse) {
  asio::io_context io;
  auto s = std::make_shared<ResponseStream>(io.get_executor(), 1024);
  s->respond(Response::error(make_error(Errc::overloaded, "full")));
  auto n = next_of(io, *s);
  ASSERT_TRUE(n.response);
  EXPECT_EQ(n.response->status, 503);
  EXPECT_TRUE(n.ended);
  // Once bytes went out, a response is too late and is ignored.
  auto t = std::make_shared<ResponseStream>(io.get_executor(), 1024);
  t->write("x");
  t->respond(Response::error(make_error(Errc::overloaded, "full")));
  EXPECT_FALSE(next_of(io, *t).response);
}

TEST(ResponseStream, PastTheBoundTheStreamIsCutAndTheCutHandlerRuns) {
  asio::io_context io;
  auto s = std::make_shared<ResponseStream>(io.get_executor(), 10);
  bool cut = false;
  s->on_cut([&] { cut = true; });
  EXPECT_TRUE(s->write("123456"));
  EXPECT_FALSE(s->write("7890123"));  // 13 bytes would wait: over 10
  EXPECT_FALSE(s->write("x"));
  auto n = next_of(io, *s);  // runs the posted cut handler too
  EXPECT_TRUE(n.overflowed);
  EXPECT_TRUE(n.ended);
  EXPECT_TRUE(cut);
}

TEST(ResponseStream, CancelStopsTheProducerAndTheStreamEndsWithIt) {
  asio::io_context io;
  auto s = std::make_shared<ResponseStream>(io.get_executor(), 1024);
  bool aborted = false;
  s->start([](std::shared_ptr<ResponseStream> out, bool& aborted) -> asio::awaitable<void> {
    out->write("first");
    asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(1));
    auto [ec] = co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
    aborted = ec == asio::error::operation_aborted;
  }(s, aborted));
  io.poll();  // the producer writes, then waits
  EXPECT_TRUE(s->started());
  EXPECT_FALSE(aborted);
  s->cancel();
  io.poll();
  EXPECT_TRUE(aborted);
  auto f = asio::co_spawn(io, s->next(), asio::use_future);
  io.restart();
  io.poll();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto n = f.get();
  EXPECT_EQ(n.bytes, "first");
  EXPECT_TRUE(n.ended);
}
