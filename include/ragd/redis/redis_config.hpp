// The redis section: where Redis is and how ragd's client talks to it. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <string>

namespace ragd {

struct RedisConfig {
  std::string url = "redis://127.0.0.1:6379";  // redis://host:port[/db] or unix:///path
  int pool_size = 2;                            // pipelined connections for commands
  int connect_timeout_ms = 2000;
  int command_timeout_ms = 2000;
  std::string key_prefix = "ragd:";
};

// Keys url (env RAGD_REDIS_URL), pool_size, connect_timeout_ms, command_timeout_ms,
// key_prefix.
void describe(ConfigFields& f, RedisConfig& c);

}  // namespace ragd
