// The answer cache's L2 value (TieredCache's wire format: a versioned header and the value)
// on arbitrary bytes, as read back from Redis. A decoded entry encodes to bytes that decode
// to the same entry.
#include "ragd/cache/tiered_cache.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ragd::cache::TieredCache;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto e = TieredCache::decode(bytes);
  if (!e) return 0;
  auto again = TieredCache::decode(TieredCache::encode(*e));
  if (!again || again->value != e->value || again->created_unix_ms != e->created_unix_ms ||
      again->fresh_until_ms != e->fresh_until_ms || again->stale_until_ms != e->stale_until_ms)
    __builtin_trap();
  return 0;
}
