#include "ragd/profile/profile_config.hpp"

namespace ragd {

void describe(ConfigFields& f, ProfileConfig& c) {
  f.field("timeout_ms", c.timeout_ms);
  f.field("prompt_fields", c.prompt_fields);
}

}  // namespace ragd
