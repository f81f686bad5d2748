// The in-process cache tier (L1): a sharded LRU map from string keys to immutable entries,
// bounded both by entry count and by bytes. Each shard has its own mutex, so threads
// touching different keys rarely contend and no global lock sits on the hit path.
// LruCache holds CacheEntry (bytes, as L2 keeps them); BasicLruCache<E> holds any entry
// type with the same expiry fields and a `bytes()` member, for an owner that keeps its
// values parsed (profile::CachedProfileStore).
// Entries carry soft and hard expiry (fresh_until, stale_until); get() drops entries past
// their hard expiry.
//
// Thread-safety: all member functions may be called from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
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

  std::size_t bytes() const noexcept { return value.size(); }
};

enum class Freshness { fresh, stale, expired };

constexpr Freshness freshness_at(std::int64_t fresh_until_ms, std::int64_t stale_until_ms,
                                 std::int64_t now_unix_ms) noexcept {
  if (now_unix_ms < fresh_until_ms) return Freshness::fresh;
  if (now_unix_ms < stale_until_ms) return Freshness::stale;
  return Freshness::expired;
}

Freshness freshness(const CacheEntry& e, std::int64_t now_unix_ms) noexcept;

// Counts shared by every BasicLruCache, for the metrics (see TieredCache's gauges).
class LruStats {
 public:
  std::size_t size() const noexcept { return entries_.load(std::memory_order_relaxed); }
  std::size_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }

 protected:
  std::atomic<std::size_t> entries_{0};
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::uint64_t> evictions_{0};
};

struct LruOptions {
  std::size_t max_entries = 100000;
  std::size_t max_bytes = 256u << 20;
  std::size_t shards = 16;
};

// `Entry` has fresh_until_ms and stale_until_ms (unix ms) and `std::size_t bytes() const`,
// the size of what it holds.
template <class Entry>
class BasicLruCache : public LruStats {
 public:
  using Options = LruOptions;

  explicit BasicLruCache(Options options) : options_(options) {
    options_.shards = std::max<std::size_t>(1, options_.shards);
    shard_max_entries_ = std::max<std::size_t>(1, options_.max_entries / options_.shards);
    shard_max_bytes_ = std::max<std::size_t>(1, options_.max_bytes / options_.shards);
    for (std::size_t i = 0; i < options_.shards; ++i) shards_.push_back(std::make_unique<Shard>());
  }

  // The entry, or null when absent or past its hard expiry. A hit moves it to the front.
  std::shared_ptr<const Entry> get(const std::string& key, std::int64_t now_unix_ms) {
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(key);
    if (it == s.index.end()) return nullptr;
    const Entry& e = *it->second->entry;
    if (freshness_at(e.fresh_until_ms, e.stale_until_ms, now_unix_ms) == Freshness::expired) {
      remove_locked(s, it->second);
      return nullptr;
    }
    s.order.splice(s.order.begin(), s.order, it->second);
    return it->second->entry;
  }

  void put(const std::string& key, std::shared_ptr<const Entry> entry) {
    const std::size_t c = cost(key, *entry);
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(key); it != s.index.end()) remove_locked(s, it->second);
    if (c > shard_max_bytes_) return;  // larger than a whole shard: never cached
    s.order.push_front(Node{key, std::move(entry), c});
    s.index.emplace(key, s.order.begin());
    s.bytes += c;
    bytes_.fetch_add(c, std::memory_order_relaxed);
    entries_.fetch_add(1, std::memory_order_relaxed);
    while (s.order.size() > shard_max_entries_ || s.bytes > shard_max_bytes_) {
      remove_locked(s, std::prev(s.order.end()));
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void erase(const std::string& key) {
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(key); it != s.index.end()) remove_locked(s, it->second);
  }

  // What one entry costs against max_bytes: key, value and bookkeeping.
  static std::size_t cost(const std::string& key, const Entry& e) noexcept {
    // Two copies of the key (list node and index), the value, and node/map overhead.
    return 2 * key.size() + e.bytes() + sizeof(Entry) + sizeof(Node) + 64;
  }

 private:
  struct Node {
    std::string key;
    std::shared_ptr<const Entry> entry;
    std::size_t cost = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::list<Node> order;  // front = most recently used
    std::unordered_map<std::string, typename std::list<Node>::iterator> index;
    std::size_t bytes = 0;
  };

  Shard& shard_for(const std::string& key) { return *shards_[std::hash<std::string>{}(key) % shards_.size()]; }

  void remove_locked(Shard& s, typename std::list<Node>::iterator it) {
    s.bytes -= it->cost;
    bytes_.fetch_sub(it->cost, std::memory_order_relaxed);
    entries_.fetch_sub(1, std::memory_order_relaxed);
    s.index.erase(it->key);
    s.order.erase(it);
  }

  Options options_;
  std::size_t shard_max_entries_;
  std::size_t shard_max_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

extern template class BasicLruCache<CacheEntry>;
using LruCache = BasicLruCache<CacheEntry>;

}  // namespace ragd::cache
