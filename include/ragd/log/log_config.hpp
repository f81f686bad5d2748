// The log section of ragd's and the worker's configuration. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <string>

namespace ragd {

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, off
  bool json = false;
};

// Keys `level` (env RAGD_LOG_LEVEL) and `json`.
void describe(ConfigFields& f, LogConfig& c);

}  // namespace ragd
