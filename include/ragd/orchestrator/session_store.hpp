// Session history in Redis, with a mirror in the gateway's memory (see session_history.hpp
// for the protocol): the list `<prefix>t:<tenant>:session:{id}` of the last N turns and its
// append count (the same key + `:n`), both written by one Lua script. The mirror is keyed
// by that Redis key, so it never crosses tenants either. load() reads the count and,
// only when the mirror is behind, the list; append() runs the script and moves the mirror
// along when nobody else appended meanwhile. Its metrics:
// ragd_cache_lookups_total{cache="session",result="l1_hit"|"miss"}.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/cache/lru_cache.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/ports.hpp"
#include "ragd/orchestrator/session_history.hpp"
#include "ragd/redis/tenant_keys.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace ragd::redis {
class Client;
}

namespace ragd::orchestrator {

struct SessionStoreConfig {
  int turns = 4;                         // turns kept and read; 0 = sessions off
  int ttl_ms = 86400000;                 // expiry of a session in Redis, renewed by each append
  std::size_t l1_max_entries = 10000;    // sessions mirrored in memory; 0 = read Redis each time
  std::string key_prefix = "ragd:";
};

class SessionStore final : public SessionHistory {
 public:
  SessionStore(redis::Client& redis, SessionStoreConfig config, metrics::Registry& metrics);

  bool enabled() const override { return config_.turns > 0; }
  boost::asio::awaitable<Result<std::vector<Turn>>> load(std::string tenant, std::string session_id) override;
  boost::asio::awaitable<void> append(std::string tenant, std::string session_id, std::string question,
                                      std::string answer) override;

  // The Redis list of a tenant's session's turns; its append count is this key with ":n"
  // appended.
  static std::string key(std::string_view key_prefix, std::string_view tenant, std::string_view session_id) {
    return redis::tenant_key(key_prefix, tenant, "session", session_id);
  }

 private:
  bool mirrored() const { return config_.l1_max_entries > 0; }
  void remember(const std::string& list_key, const SessionSnapshot& s);

  redis::Client& redis_;
  SessionStoreConfig config_;
  cache::LruCache mirror_;
  metrics::Counter& l1_hits_;
  metrics::Counter& misses_;
};

}  // namespace ragd::orchestrator
