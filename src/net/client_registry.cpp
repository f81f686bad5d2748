#include "client_registry.hpp"

namespace ragd::net {

boost::asio::execution_context::id ClientRegistry::id;

void ClientRegistry::add(std::weak_ptr<DroppableTransfers> client) {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& c) { return c.expired(); });
  clients_.push_back(std::move(client));
}

void ClientRegistry::shutdown() {
  std::vector<std::weak_ptr<DroppableTransfers>> clients;
  {
    std::lock_guard lock(mutex_);
    clients.swap(clients_);
  }
  for (auto& weak : clients) {
    // Dropping a transfer's handler may free the client's last owner; `client` holds it
    // until drop_transfers() is done.
    if (auto client = weak.lock()) client->drop_transfers();
  }
}

}  // namespace ragd::net
