// A program's whole configuration as one file: parse, load, validate and apply the
// environment for any struct with a `describe(ConfigFields&, C&)` and the two hooks
// `before_read(C&)` and `after_read(C&)` found beside it (defaults that depend on other
// sections, such as keys that follow redis.key_prefix). Plain functions over values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <string>
#include <vector>

namespace ragd {

template <class C>
Result<C> parse_config_file_text(const std::string& text) {
  C c;
  before_read(c);
  if (auto r = read_config(text, [&](ConfigFields& f) { describe(f, c); }); !r) return r.error();
  after_read(c);
  return c;
}

template <class C>
Result<C> load_config_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  auto c = parse_config_file_text<C>(*text);
  if (!c) return make_error(c.error().code, path + ": " + c.error().message);
  return c;
}

template <class C>
Result<void> validate_config_file(C c) {
  return validate_config([&](ConfigFields& f) { describe(f, c); });
}

template <class C>
Result<void> apply_config_file_env(C& c) {
  return apply_config_env([&](ConfigFields& f) { describe(f, c); });
}

template <class C>
std::vector<ConfigEnvVariable> config_file_env_variables() {
  C c;
  before_read(c);
  return config_env_variables([&](ConfigFields& f) { describe(f, c); });
}

}  // namespace ragd
