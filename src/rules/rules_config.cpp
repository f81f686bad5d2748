#include "ragd/rules/rules_config.hpp"

namespace ragd {

void describe(ConfigFields& f, RulesConfig& c) { f.field("file", c.file, "RAGD_RULES_FILE"); }

}  // namespace ragd
