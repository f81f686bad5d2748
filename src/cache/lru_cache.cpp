#include "ragd/cache/lru_cache.hpp"

namespace ragd::cache {

Freshness freshness(const CacheEntry& e, std::int64_t now) noexcept {
  return freshness_at(e.fresh_until_ms, e.stale_until_ms, now);
}

template class BasicLruCache<CacheEntry>;

}  // namespace ragd::cache
