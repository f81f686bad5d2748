// The rules section: where the rules file is. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <string>

namespace ragd {

struct RulesConfig {
  std::string file;  // empty = no rules
};

// Key `file` (env RAGD_RULES_FILE).
void describe(ConfigFields& f, RulesConfig& c);

}  // namespace ragd
