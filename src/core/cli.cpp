#include "ragd/core/cli.hpp"

#include <algorithm>

namespace ragd {

std::optional<std::string> ParsedFlags::get(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

bool ParsedFlags::has(const std::string& name) const {
  return switches.count(name) > 0 || values.count(name) > 0;
}

Result<ParsedFlags> parse_flags(int argc, char** argv, const std::vector<FlagSpec>& specs,
                                bool allow_positional) {
  ParsedFlags out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      if (!allow_positional) return make_error(Errc::bad_request, "unexpected argument '" + arg + "'");
      out.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) return make_error(Errc::bad_request, "unknown flag '--" + name + "'");
    if (!spec->takes_value) {
      if (inline_value) return make_error(Errc::bad_request, "flag '--" + name + "' takes no value");
      out.switches.insert(name);
      continue;
    }
    if (inline_value) {
      out.values[name] = *inline_value;
    } else if (i + 1 < argc) {
      out.values[name] = argv[++i];
    } else {
      return make_error(Errc::bad_request, "flag '--" + name + "' needs a value");
    }
  }
  return out;
}

std::string flags_help(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.takes_value ? " " + s.value_name : "");
    if (left.size() < 28) left.resize(28, ' ');
    else left += "  ";
    out += left + s.help + "\n";
  }
  return out;
}

}  // namespace ragd
