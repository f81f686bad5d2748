// The in-process cache tier (L1): a sharded LRU map from string keys to immutable entries,
// bounded both by entry count and by bytes. Each shard has its own mutex, so threads
// touching different keys rarely contend and no global lock sits on the hit path.
// Entries carry soft and hard expiry (fresh_until, stale_until); get() drops entries past
// their hard expiry.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace ragd::cache {

struct CacheEntry {
  std::string value;
  std::int64_t created_unix_ms = 0;
  std::int64_t fresh_until_ms = 0;  // soft expiry: after it the entry is stale
  std::int64_t stale_until_ms = 0;  // hard expiry: after it the entry is gone
};

enum class Freshness { fresh, stale, expired };

Freshness freshness(const CacheEntry& e, std::int64_t now_unix_ms) noexcept;

class LruCache {
 public:
  struct Options {
    std::size_t max_entries = 100000;
    std::size_t max_bytes = 256u << 20;
    std::size_t shards = 16;
  };

  explicit LruCache(Options options);

  // The entry, or null when absent or past its hard expiry. A hit moves it to the front.
  std::shared_ptr<const CacheEntry> get(const std::string& key, std::int64_t now_unix_ms);
  void put(const std::string& key, std::shared_ptr<const CacheEntry> entry);
  void erase(const std::string& key);

  std::size_t size() const noexcept { return entries_.load(std::memory_order_relaxed); }
  std::size_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }

  // What one entry costs against max_bytes: key, value and bookkeeping.
  static std::size_t cost(const std::string& key, const CacheEntry& e) noexcept;

 private:
  struct Node {
    std::string key;
    std::shared_ptr<const CacheEntry> entry;
    std::size_t cost = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::list<Node> order;  // front = most recently used
    std::unordered_map<std::string, std::list<Node>::iterator> index;
    std::size_t bytes = 0;
  };

  Shard& shard_for(const std::string& key);
  void remove_locked(Shard& s, std::list<Node>::iterator it);

  Options options_;
  std::size_t shard_max_entries_;
  std::size_t shard_max_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> entries_{0};
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace ragd::cache
