// Client: a fixed pool of pipelined Connections used round-robin.
#include "ragd/redis/client.hpp"

#include <algorithm>

namespace ragd::redis {

namespace asio = boost::asio;

Client::Client(asio::any_io_executor ex, RedisConfig config)
    : ex_(std::move(ex)), config_(std::move(config)) {
  const int n = std::max(1, config_.pool_size);
  pool_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) pool_.push_back(std::make_unique<Connection>(ex_, config_));
}

Client::~Client() = default;

asio::awaitable<Result<Reply>> Client::command(Command cmd,
                                               std::optional<std::chrono::milliseconds> timeout) {
  auto i = next_.fetch_add(1, std::memory_order_relaxed) % pool_.size();
  return pool_[i]->command(std::move(cmd), timeout);
}

asio::awaitable<Result<std::vector<Reply>>> Client::pipeline(
    std::vector<Command> cmds, std::optional<std::chrono::milliseconds> timeout) {
  auto i = next_.fetch_add(1, std::memory_order_relaxed) % pool_.size();
  return pool_[i]->pipeline(std::move(cmds), timeout);
}

std::unique_ptr<Connection> Client::dedicated_connection() const {
  return std::make_unique<Connection>(ex_, config_);
}

bool Client::connected() const {
  return std::any_of(pool_.begin(), pool_.end(), [](const auto& c) { return c->connected(); });
}

void Client::close() {
  for (auto& c : pool_) c->close();
}

const RedisConfig& Client::config() const { return config_; }

}  // namespace ragd::redis
