// IoContext::destroy_handlers: the handlers still pending when an owner is destroyed go
// before the owner's other members, and what keepers hold in their own queues goes with them.
#include "ragd/core/io_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ragd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Appends `what` to `log` when it is destroyed.
struct Mark {
  std::vector<std::string>* log;
  std::string what;
  ~Mark() { log->push_back(what); }
};

asio::awaitable<void> wait_long(std::vector<std::string>* log, std::string name) {
  Mark mark{log, std::move(name)};
  asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
  co_await timer.async_wait(asio::use_awaitable);
}

// As the gateway is built: the context first, the components its coroutines refer to after it.
struct Owner {
  explicit Owner(std::vector<std::string>* log) : component{log, "component"} {}
  ~Owner() { io.destroy_handlers(); }
  IoContext io{1};
  Mark component;
};

TEST(IoContext, PendingCoroutinesAreDestroyedBeforeTheMembersDeclaredAfterTheContext) {
  std::vector<std::string> log;
  {
    Owner owner(&log);
    asio::co_spawn(owner.io, wait_long(&log, "plain"), asio::detached);
    asio::co_spawn(asio::make_strand(owner.io), wait_long(&log, "strand"), asio::detached);
    owner.io.run_for(20ms);
    ASSERT_TRUE(log.empty());
  }
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log.back(), "component") << "a coroutine frame was destroyed after the member it refers to";
}

// Keeps its callers' handlers in a queue of its own, as a connection or a client does.
struct Keeper : HandlerKeeper {
  std::vector<std::function<void()>> queue;
  void drop_handlers() override { queue.clear(); }
};

TEST(IoContext, AHandlerThatOwnsItsKeeperIsFreedWithTheContext) {
  std::weak_ptr<Keeper> watch;
  {
    IoContext io;
    auto keeper = std::make_shared<Keeper>();
    keep_handlers_of(io.get_executor(), keeper);
    keeper->queue.push_back([keeper] {});  // the cycle: keeper -> handler -> keeper
    watch = keeper;
  }
  EXPECT_TRUE(watch.expired()) << "the keeper and the handler it kept outlived their context";
}

}  // namespace
}  // namespace ragd
