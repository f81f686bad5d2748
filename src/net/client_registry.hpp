// ClientRegistry: the outbound HTTP clients of one execution context, so that destroying the
// context frees what their transfers in flight hold (see http_client.cpp).
//
// A transfer in flight owns its caller's completion handler, often a coroutine frame that
// owns, through its caller, the very client it waits on. Asio destroys the handlers of its
// own operations when an io_context is destroyed; for ours, each client registers here, and
// the service's shutdown(), which runs while the context is destroyed, asks every client
// still alive to drop its transfers, handlers unrun, so such a cycle is freed rather than
// leaked.
//
// Thread-safety: add() from any thread; shutdown() only from the context's destruction, when
// none of its threads runs any more.
#pragma once

#include <boost/asio/execution_context.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace ragd::net {

// What the registry needs of a client.
class DroppableTransfers {
 public:
  virtual ~DroppableTransfers() = default;
  // Drops the transfers in flight, their handlers unrun, and closes everything.
  virtual void drop_transfers() = 0;
};

class ClientRegistry final : public boost::asio::execution_context::service {
 public:
  static boost::asio::execution_context::id id;
  explicit ClientRegistry(boost::asio::execution_context& ctx) : boost::asio::execution_context::service(ctx) {}

  void add(std::weak_ptr<DroppableTransfers> client);

 private:
  void shutdown() override;

  std::mutex mutex_;
  std::vector<std::weak_ptr<DroppableTransfers>> clients_;
};

}  // namespace ragd::net
