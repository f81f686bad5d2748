// A small command-line parser shared by the mains: `--name value` and `--name=value`,
// boolean switches, positional arguments, and one-line errors for unknown or incomplete
// flags. Not thread-safe; used once at start-up.
#pragma once

#include "ragd/core/error.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ragd {

struct FlagSpec {
  std::string name;  // without the leading dashes
  bool takes_value = true;
  std::string help;
  std::string value_name = "VALUE";
};

struct ParsedFlags {
  std::map<std::string, std::string> values;  // flags with values
  std::set<std::string> switches;             // boolean flags seen
  std::vector<std::string> positional;

  std::optional<std::string> get(const std::string& name) const;
  bool has(const std::string& name) const;
};

Result<ParsedFlags> parse_flags(int argc, char** argv, const std::vector<FlagSpec>& specs,
                                bool allow_positional = false);

std::string flags_help(const std::vector<FlagSpec>& specs);

}  // namespace ragd
