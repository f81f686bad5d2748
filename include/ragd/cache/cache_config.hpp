// The cache section: the answer cache's tiers and lifetimes, and the in-process copies of
// profiles and session history in front of Redis. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <cstddef>

namespace ragd {

struct CacheConfig {
  bool enabled = true;                    // the answer cache (L1 + L2)
  bool l2_enabled = true;                 // share answers between replicas through Redis
  int soft_ttl_ms = 300000;               // fresh for this long
  int hard_ttl_ms = 3600000;              // then served stale (one refresh) until this age
  std::size_t l1_max_entries = 100000;
  std::size_t l1_max_bytes = 256u << 20;
  int refresh_lock_ms = 30000;            // one refresh per key across replicas
  int profile_ttl_ms = 5000;              // profile cache in front of Redis
  int session_turns = 4;                  // turns of history in the prompt and the key
  int session_ttl_ms = 86400000;          // session history expiry in Redis
  std::size_t session_l1_max_entries = 10000;  // sessions mirrored in memory; 0 = read Redis each time
};

void describe(ConfigFields& f, CacheConfig& c);

}  // namespace ragd
