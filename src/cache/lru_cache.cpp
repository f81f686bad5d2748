#include "ragd/cache/lru_cache.hpp"

#include <algorithm>
#include <functional>

namespace ragd::cache {

Freshness freshness(const CacheEntry& e, std::int64_t now) noexcept {
  if (now < e.fresh_until_ms) return Freshness::fresh;
  if (now < e.stale_until_ms) return Freshness::stale;
  return Freshness::expired;
}

LruCache::LruCache(Options options) : options_(options) {
  options_.shards = std::max<std::size_t>(1, options_.shards);
  shard_max_entries_ = std::max<std::size_t>(1, options_.max_entries / options_.shards);
  shard_max_bytes_ = std::max<std::size_t>(1, options_.max_bytes / options_.shards);
  for (std::size_t i = 0; i < options_.shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

std::size_t LruCache::cost(const std::string& key, const CacheEntry& e) noexcept {
  // Two copies of the key (list node and index), the value, and node/map overhead.
  return 2 * key.size() + e.value.size() + sizeof(CacheEntry) + sizeof(Node) + 64;
}

LruCache::Shard& LruCache::shard_for(const std::string& key) {
  return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

void LruCache::remove_locked(Shard& s, std::list<Node>::iterator it) {
  s.bytes -= it->cost;
  bytes_.fetch_sub(it->cost, std::memory_order_relaxed);
  entries_.fetch_sub(1, std::memory_order_relaxed);
  s.index.erase(it->key);
  s.order.erase(it);
}

std::shared_ptr<const CacheEntry> LruCache::get(const std::string& key, std::int64_t now) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  auto it = s.index.find(key);
  if (it == s.index.end()) return nullptr;
  if (freshness(*it->second->entry, now) == Freshness::expired) {
    remove_locked(s, it->second);
    return nullptr;
  }
  s.order.splice(s.order.begin(), s.order, it->second);
  return it->second->entry;
}

void LruCache::put(const std::string& key, std::shared_ptr<const CacheEntry> entry) {
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

void LruCache::erase(const std::string& key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  if (auto it = s.index.find(key); it != s.index.end()) remove_locked(s, it->second);
}

}  // namespace ragd::cache
