#include "ragd/core/io_context.hpp"

namespace ragd {

boost::asio::execution_context::id HandlerOwners::id;

void HandlerOwners::add(std::weak_ptr<HandlerKeeper> keeper) {
  std::lock_guard lock(mutex_);
  std::erase_if(keepers_, [](const auto& k) { return k.expired(); });
  keepers_.push_back(std::move(keeper));
}

void HandlerOwners::shutdown() {
  std::vector<std::weak_ptr<HandlerKeeper>> keepers;
  {
    std::lock_guard lock(mutex_);
    keepers.swap(keepers_);
  }
  for (auto& weak : keepers) {
    // Dropping a handler may free the keeper's last owner; `keeper` holds it until
    // drop_handlers() is done.
    if (auto keeper = weak.lock()) keeper->drop_handlers();
  }
}

void IoContext::destroy_handlers() {
  // A service's shutdown destroys the handlers it holds; destroying one may post another
  // (a coroutine frame's destruction is posted to its executor) to a service shut down
  // before it. Each round destroys what the previous one posted; the scheduler's own round
  // also destroys what is posted while it runs, so three rounds leave nothing.
  for (int round = 0; round < 3; ++round) shutdown();
}

}  // namespace ragd
