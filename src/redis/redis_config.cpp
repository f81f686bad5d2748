#include "ragd/redis/redis_config.hpp"

namespace ragd {

void describe(ConfigFields& f, RedisConfig& c) {
  f.field("url", c.url, "RAGD_REDIS_URL");
  f.field("pool_size", c.pool_size);
  f.field("connect_timeout_ms", c.connect_timeout_ms);
  f.field("command_timeout_ms", c.command_timeout_ms);
  f.field("key_prefix", c.key_prefix);
  f.check(c.url.rfind("redis://", 0) == 0 || c.url.rfind("unix://", 0) == 0, "url",
          "must start with redis:// or unix://");
  f.check(c.pool_size >= 1 && c.pool_size <= 64, "pool_size", "must be 1..64");
  f.check(c.connect_timeout_ms > 0 && c.command_timeout_ms > 0, "", "timeouts must be positive");
}

}  // namespace ragd
