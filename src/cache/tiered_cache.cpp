#include "ragd/cache/tiered_cache.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"

#include <charconv>

namespace ragd::cache {

namespace {

constexpr std::string_view kMagic = "rc1\n";

bool read_int(std::string_view& s, std::int64_t& out) {
  auto nl = s.find('\n');
  if (nl == std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + nl, out);
  if (ec != std::errc() || p != s.data() + nl) return false;
  s.remove_prefix(nl + 1);
  return true;
}

}  // namespace

TieredCache::TieredCache(std::string name, redis::Client* redis, LruCache::Options l1,
                         metrics::Registry& m, std::string key_prefix)
    : name_(std::move(name)), redis_(redis), l1_(l1), prefix_(key_prefix + "cache:" + name_ + ":"),
      l1_hits_(m.counter("ragd_cache_lookups_total", "Cache lookups by cache and result.", {"cache", "result"})
                   .with({name_, "l1_hit"})),
      l2_hits_(m.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({name_, "l2_hit"})),
      misses_(m.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({name_, "miss"})),
      l2_errors_(m.counter("ragd_cache_l2_errors_total", "Redis errors in the L2 tier (treated as misses).",
                           {"cache"})
                     .with({name_})) {
  export_l1_gauges(m, name_, l1_);
}

void export_l1_gauges(metrics::Registry& m, const std::string& name, const LruStats& l1) {
  auto& entries = m.gauge("ragd_cache_l1_entries", "Entries in the in-process tier.", {"cache"}).with({name});
  auto& bytes = m.gauge("ragd_cache_l1_bytes", "Bytes accounted in the in-process tier.", {"cache"}).with({name});
  auto& evictions = m.gauge("ragd_cache_l1_evictions", "Entries evicted from the in-process tier (LRU).", {"cache"})
                        .with({name});
  m.on_collect([&l1, &entries, &bytes, &evictions] {
    entries.set(static_cast<double>(l1.size()));
    bytes.set(static_cast<double>(l1.bytes()));
    evictions.set(static_cast<double>(l1.evictions()));
  });
}

std::string TieredCache::encode(const CacheEntry& e) {
  std::string out;
  out.reserve(kMagic.size() + 64 + e.value.size());
  out += kMagic;
  out += std::to_string(e.created_unix_ms) + "\n" + std::to_string(e.fresh_until_ms) + "\n" +
         std::to_string(e.stale_until_ms) + "\n";
  out += e.value;
  return out;
}

std::optional<CacheEntry> TieredCache::decode(const std::string& s) {
  std::string_view v(s);
  if (v.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  v.remove_prefix(kMagic.size());
  CacheEntry e;
  if (!read_int(v, e.created_unix_ms) || !read_int(v, e.fresh_until_ms) || !read_int(v, e.stale_until_ms)) {
    return std::nullopt;
  }
  e.value = std::string(v);
  return e;
}

std::shared_ptr<const CacheEntry> TieredCache::get_l1(const std::string& key) {
  return l1_.get(key, unix_ms());
}

void TieredCache::put_l1(const std::string& key, std::shared_ptr<const CacheEntry> entry) {
  l1_.put(key, std::move(entry));
}

boost::asio::awaitable<Lookup> TieredCache::get(std::string key) {
  const auto now = unix_ms();
  if (auto e = l1_.get(key, now)) {
    l1_hits_.inc();
    co_return Lookup{e, freshness(*e, now), "l1"};
  }
  if (redis_) {
    redis::Command cmd{"GET", redis_key(key)};
    auto r = co_await redis_->command(std::move(cmd));
    if (!r || r->is_error()) {
      l2_errors_.inc();
    } else if (auto s = r->as_string()) {
      if (auto e = decode(*s); e && freshness(*e, now) != Freshness::expired) {
        auto entry = std::make_shared<const CacheEntry>(std::move(*e));
        l1_.put(key, entry);
        l2_hits_.inc();
        co_return Lookup{entry, freshness(*entry, now), "l2"};
      }
    }
  }
  misses_.inc();
  co_return Lookup{};
}

boost::asio::awaitable<bool> TieredCache::pull_fresh_from_l2(std::string key) {
  if (!redis_) co_return false;
  redis::Command cmd{"GET", redis_key(key)};
  auto r = co_await redis_->command(std::move(cmd));
  if (!r || r->is_error()) {
    l2_errors_.inc();
    co_return false;
  }
  auto s = r->as_string();
  if (!s) co_return false;
  auto e = decode(*s);
  if (!e || freshness(*e, unix_ms()) != Freshness::fresh) co_return false;
  l1_.put(key, std::make_shared<const CacheEntry>(std::move(*e)));
  co_return true;
}

boost::asio::awaitable<void> TieredCache::put(std::string key, std::shared_ptr<const CacheEntry> entry) {
  l1_.put(key, entry);
  if (!redis_) co_return;
  auto ttl = entry->stale_until_ms - unix_ms();
  if (ttl <= 0) co_return;
  redis::Command cmd{"SET", redis_key(key), encode(*entry), "PX", std::to_string(ttl)};
  auto r = co_await redis_->command(std::move(cmd));
  if (!r || r->is_error()) l2_errors_.inc();
}

boost::asio::awaitable<void> TieredCache::erase(std::string key) {
  l1_.erase(key);
  if (!redis_) co_return;
  redis::Command cmd{"DEL", redis_key(key)};
  auto r = co_await redis_->command(std::move(cmd));
  if (!r || r->is_error()) l2_errors_.inc();
}

boost::asio::awaitable<bool> TieredCache::try_lock(std::string key, std::chrono::milliseconds ttl) {
  if (!redis_) co_return true;
  redis::Command cmd{"SET", prefix_ + "lock:" + key, "1", "NX", "PX", std::to_string(ttl.count())};
  auto r = co_await redis_->command(std::move(cmd));
  // Without Redis no replica can coordinate; the per-process in-flight map still holds.
  if (!r || r->is_error()) co_return true;
  co_return !r->is_nil();
}

boost::asio::awaitable<void> TieredCache::expire_lock(std::string key, std::chrono::milliseconds ttl) {
  if (!redis_) co_return;
  redis::Command cmd{"PEXPIRE", prefix_ + "lock:" + key, std::to_string(std::max<long long>(1, ttl.count()))};
  co_await redis_->command(std::move(cmd));
}

}  // namespace ragd::cache
