// A two-tier cache: L1 in process (LruCache), L2 in Redis so that gateway replicas share
// entries. get() looks in L1, then L2; an L2 hit fills L1. put() writes both; the Redis
// copy expires with the entry's hard expiry. A Redis failure is a miss (counted), never an
// error: the cache is an optimisation, not a dependency.
//
// Also the cross-replica refresh lock: try_lock() is `SET key NX PX ttl`, so one replica
// refreshes a stale entry while the others keep serving it.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include "ragd/cache/lru_cache.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ragd::redis {
class Client;
}
namespace ragd::metrics {
class Registry;
class Counter;
class Gauge;
}

namespace ragd::cache {

struct Lookup {
  std::shared_ptr<const CacheEntry> entry;  // null on a miss
  Freshness state = Freshness::expired;
  const char* tier = "none";                 // "l1", "l2" or "none"
};

// The gauges of an in-process tier (ragd_cache_l1_entries, _bytes, _evictions{cache=name}),
// read at each collection; `l1` must outlive `metrics`' collections.
void export_l1_gauges(metrics::Registry& metrics, const std::string& name, const LruStats& l1);

class TieredCache {
 public:
  // `redis` may be null: L1 only. `name` labels the metrics and the Redis keys.
  TieredCache(std::string name, redis::Client* redis, LruCache::Options l1,
              metrics::Registry& metrics, std::string key_prefix = "ragd:");

  boost::asio::awaitable<Lookup> get(std::string key);
  // Reads L2 only; a fresh entry there replaces the L1 copy. True when L2 held a fresh entry
  // (another replica already refreshed it).
  boost::asio::awaitable<bool> pull_fresh_from_l2(std::string key);
  boost::asio::awaitable<void> put(std::string key, std::shared_ptr<const CacheEntry> entry);
  void put_l1(const std::string& key, std::shared_ptr<const CacheEntry> entry);
  std::shared_ptr<const CacheEntry> get_l1(const std::string& key);
  boost::asio::awaitable<void> erase(std::string key);

  // Cross-replica lock for refreshing `key`; true when this caller holds it.
  boost::asio::awaitable<bool> try_lock(std::string key, std::chrono::milliseconds ttl);
  // Shortens the lock to `ttl`: a refresher that stored a fresh entry keeps the lock a little
  // longer, so a replica that checked L2 just before the store cannot take it and refresh again.
  boost::asio::awaitable<void> expire_lock(std::string key, std::chrono::milliseconds ttl);

  const LruCache& l1() const { return l1_; }
  const std::string& name() const { return name_; }
  std::string redis_key(const std::string& key) const { return prefix_ + key; }

  // L2 wire format of an entry (versioned header + value). Exposed for tests.
  static std::string encode(const CacheEntry& e);
  static std::optional<CacheEntry> decode(const std::string& s);

 private:
  std::string name_;
  redis::Client* redis_;
  LruCache l1_;
  std::string prefix_;
  metrics::Counter& l1_hits_;
  metrics::Counter& l2_hits_;
  metrics::Counter& misses_;
  metrics::Counter& l2_errors_;
};

}  // namespace ragd::cache
