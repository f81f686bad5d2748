// Profiles behind a short-lived in-process cache (cache.profile_ttl_ms): a profile read
// from its source is kept parsed, so a query from a known user costs a map lookup and no
// Redis round trip. Entries live at most the TTL, so a changed profile shows within it.
// Its metrics: ragd_cache_lookups_total{cache="profiles",result="l1_hit"|"miss"} and the
// in-process tier's gauges.
//
// Thread-safety: all member functions may be called from any thread; the source must be
// safe to call concurrently.
#pragma once

#include "ragd/cache/lru_cache.hpp"
#include "ragd/profile/profile_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ragd::metrics {
class Registry;
class Counter;
}

namespace ragd::profile {

class CachedProfileStore {
 public:
  // ttl_ms <= 0: nothing is cached, every fetch() asks the source.
  CachedProfileStore(ProfileSource& source, int ttl_ms, metrics::Registry& metrics);

  // The profile cached for the tenant's `user_id`, or null (no I/O).
  std::shared_ptr<const Profile> cached(std::string_view tenant, std::string_view user_id);
  // The profile from the source, cached for the TTL when it came.
  boost::asio::awaitable<Result<std::shared_ptr<const Profile>>> fetch(std::string tenant, std::string user_id);

  const cache::LruStats& l1() const { return l1_; }

 private:
  struct Entry {
    std::shared_ptr<const Profile> profile;
    std::int64_t fresh_until_ms = 0;
    std::int64_t stale_until_ms = 0;
    std::size_t size = 0;  // bytes of the fields' names and values
    std::size_t bytes() const noexcept { return size; }
  };

  // The cache's key of a tenant's user: unambiguous for any two strings.
  static std::string entry_key(std::string_view tenant, std::string_view user_id);

  ProfileSource& source_;
  int ttl_ms_;
  cache::BasicLruCache<Entry> l1_;
  metrics::Counter& hits_;
  metrics::Counter& misses_;
};

}  // namespace ragd::profile
