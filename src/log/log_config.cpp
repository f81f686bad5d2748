#include "ragd/log/log_config.hpp"

namespace ragd {

void describe(ConfigFields& f, LogConfig& c) {
  f.field("level", c.level, "RAGD_LOG_LEVEL");
  f.field("json", c.json);
  const bool known = c.level == "trace" || c.level == "debug" || c.level == "info" || c.level == "warn" ||
                     c.level == "error" || c.level == "critical" || c.level == "off";
  f.check(known, "level", "must be trace, debug, info, warn, error or off");
}

}  // namespace ragd
