#include "ragd/cache/cache_config.hpp"

namespace ragd {

void describe(ConfigFields& f, CacheConfig& c) {
  f.field("enabled", c.enabled);
  f.field("l2_enabled", c.l2_enabled);
  f.field("soft_ttl_ms", c.soft_ttl_ms);
  f.field("hard_ttl_ms", c.hard_ttl_ms);
  f.field("l1_max_entries", c.l1_max_entries);
  f.field("l1_max_bytes", c.l1_max_bytes);
  f.field("refresh_lock_ms", c.refresh_lock_ms);
  f.field("profile_ttl_ms", c.profile_ttl_ms);
  f.field("session_turns", c.session_turns);
  f.field("session_l1_max_entries", c.session_l1_max_entries);
  f.field("session_ttl_ms", c.session_ttl_ms);
  f.check(c.soft_ttl_ms > 0, "soft_ttl_ms", "must be positive");
  f.check(c.hard_ttl_ms >= c.soft_ttl_ms, "hard_ttl_ms", "must be at least soft_ttl_ms");
  f.check(c.l1_max_entries > 0 && c.l1_max_bytes >= 4096, "l1_max_entries",
          "must be positive and 'cache.l1_max_bytes' at least 4096");
  f.check(c.refresh_lock_ms > 0, "refresh_lock_ms", "must be positive");
  f.check(c.profile_ttl_ms >= 0, "profile_ttl_ms", "must not be negative");
  f.check(c.session_turns >= 0 && c.session_turns <= 100, "session_turns", "must be 0..100");
  f.check(c.session_ttl_ms > 0, "session_ttl_ms", "must be positive");
}

}  // namespace ragd
