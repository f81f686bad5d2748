// The profile section: the optional user-profile leg of a query. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <string>
#include <vector>

namespace ragd {

struct ProfileConfig {
  int timeout_ms = 100;                 // optional leg: past it the query goes on without
  std::vector<std::string> prompt_fields = {"name", "language", "expertise", "tier"};
};

void describe(ConfigFields& f, ProfileConfig& c);

}  // namespace ragd
