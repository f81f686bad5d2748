#include "ragd/profile/cached_profile_store.hpp"

#include "ragd/cache/tiered_cache.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"

namespace ragd::profile {

CachedProfileStore::CachedProfileStore(ProfileSource& source, int ttl_ms, metrics::Registry& m)
    : source_(source),
      ttl_ms_(ttl_ms),
      l1_({100000, 64u << 20, 16}),
      hits_(m.counter("ragd_cache_lookups_total", "Cache lookups by cache and result.", {"cache", "result"})
                .with({"profiles", "l1_hit"})),
      misses_(m.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({"profiles", "miss"})) {
  cache::export_l1_gauges(m, "profiles", l1_);
}

std::string CachedProfileStore::entry_key(std::string_view tenant, std::string_view user_id) {
  std::string key = std::to_string(tenant.size());
  key += ':';
  key.append(tenant).append(user_id);
  return key;
}

std::shared_ptr<const Profile> CachedProfileStore::cached(std::string_view tenant, std::string_view user_id) {
  if (ttl_ms_ <= 0) return nullptr;
  auto e = l1_.get(entry_key(tenant, user_id), unix_ms());
  if (!e) return nullptr;
  hits_.inc();
  return e->profile;
}

boost::asio::awaitable<Result<std::shared_ptr<const Profile>>> CachedProfileStore::fetch(std::string tenant,
                                                                                          std::string user_id) {
  misses_.inc();
  auto r = co_await source_.get(tenant, user_id);
  if (!r) co_return r.error();
  auto profile = std::make_shared<const Profile>(std::move(*r));
  if (ttl_ms_ > 0) {
    auto e = std::make_shared<Entry>();
    e->profile = profile;
    e->fresh_until_ms = e->stale_until_ms = unix_ms() + ttl_ms_;
    for (const auto& [k, v] : *profile) e->size += k.size() + v.size() + 64;
    l1_.put(entry_key(tenant, user_id), std::move(e));
  }
  co_return profile;
}

}  // namespace ragd::profile
