// Destroying an io_context with handlers still pending, in an order that frees them.
//
// Asio destroys the handlers of its own pending operations when a context is destroyed. Two
// kinds of handler escape that order:
//   - handlers that ragd's objects keep in their own queues (a Redis command's caller, an
//     HTTP transfer's caller) until an answer comes. Such a handler is often a coroutine
//     frame that owns, through its caller, the very object that keeps it: a cycle that
//     nothing frees. Each such object registers with its context's HandlerOwners, whose
//     shutdown (run while the context is destroyed) asks every one still alive to drop its
//     handlers, unrun.
//   - handlers destroyed by the context's destructor after the other members of its owner
//     are gone, whose destructors still touch them (a connection's gauge, a component a
//     coroutine waits on). An owner declares its context first and calls
//     IoContext::destroy_handlers() in its destructor, so that they go while everything
//     they refer to is alive.
//
// Thread-safety: HandlerOwners::add() from any thread; destroy_handlers() and the service's
// shutdown only when none of the context's threads runs any more.
#pragma once

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace ragd {

// An object that keeps completion handlers of its context's callers in its own queues.
class HandlerKeeper {
 public:
  virtual ~HandlerKeeper() = default;
  // Destroys every handler it keeps, unrun, and closes what it holds open. Runs while its
  // context is being shut down: nothing may be posted and waited for.
  virtual void drop_handlers() = 0;
};

class HandlerOwners final : public boost::asio::execution_context::service {
 public:
  static boost::asio::execution_context::id id;
  explicit HandlerOwners(boost::asio::execution_context& ctx) : boost::asio::execution_context::service(ctx) {}

  void add(std::weak_ptr<HandlerKeeper> keeper);

 private:
  void shutdown() override;

  std::mutex mutex_;
  std::vector<std::weak_ptr<HandlerKeeper>> keepers_;
};

// Registers `keeper` with the HandlerOwners of the context behind `ex`.
template <class Executor>
void keep_handlers_of(const Executor& ex, std::weak_ptr<HandlerKeeper> keeper) {
  boost::asio::use_service<HandlerOwners>(boost::asio::query(ex, boost::asio::execution::context))
      .add(std::move(keeper));
}

class IoContext : public boost::asio::io_context {
 public:
  using boost::asio::io_context::io_context;

  // Destroys, unrun, every handler still pending on the context: its own operations' and
  // those of every HandlerKeeper, and the ones their destruction posts. Call it after the
  // last run() has returned, before the objects those handlers refer to are destroyed. The
  // context does not run again.
  void destroy_handlers();
};

}  // namespace ragd
