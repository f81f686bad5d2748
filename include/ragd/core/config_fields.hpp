// Configuration sections declared once. A module owns its section: its struct of plain
// values, and one `describe(ConfigFields&, Section&)` function that names every key, the
// environment variable overriding it (if any) and the constraints on it. The same
// declaration is walked three times: to read the JSON file (unknown keys and wrong types
// are errors naming the key's path), to apply RAGD_* environment variables, and to
// validate. Nothing is kept in step by hand.
//
// A program's whole configuration (ragd's, the worker's) is a describe function that nests
// the modules' sections. Plain functions over values: no shared state, any thread.
#pragma once

#include "ragd/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd {

class ConfigFields {
 public:
  // Which walk this is. Most describe functions need not care; one that creates storage for
  // an optional section does so only while reading.
  enum class Pass { read, env, validate };

  virtual ~ConfigFields() = default;
  virtual Pass pass() const = 0;

  // A value at `key`. `env`, when given, names the environment variable that overrides the
  // file (flags, applied by the mains, override both).
  virtual void field(std::string_view key, std::string& value, const char* env = nullptr) = 0;
  virtual void field(std::string_view key, bool& value, const char* env = nullptr) = 0;
  virtual void field(std::string_view key, double& value, const char* env = nullptr) = 0;
  virtual void field(std::string_view key, int& value, const char* env = nullptr) = 0;
  virtual void field(std::string_view key, std::int64_t& value, const char* env = nullptr) = 0;
  virtual void field(std::string_view key, std::size_t& value, const char* env = nullptr) = 0;
  virtual void field(std::string_view key, std::vector<std::string>& value) = 0;

  // A nested object. While reading, `describe` runs only when the key is present.
  virtual void section(std::string_view key, const std::function<void(ConfigFields&)>& describe) = 0;

  // An array of objects: `resize(n)` makes room while reading; `describe(fields, i)`
  // declares element i.
  virtual void list(std::string_view key, const std::function<void(std::size_t)>& resize,
                    const std::function<std::size_t()>& size,
                    const std::function<void(ConfigFields&, std::size_t)>& describe) = 0;

  // A constraint, checked when validating: the error reads "'<path>.<key>' <what>" (or
  // "'<path>' <what>" for an empty key).
  virtual void check(bool ok, std::string_view key, std::string_view what) = 0;
  // A constraint on the file's own content, checked as soon as it is read (a malformed API
  // key hash must not wait for validation).
  virtual void require(bool ok, std::string_view key, std::string_view what) = 0;

  // Typed helper for arrays of structs with their own describe function.
  template <class T, class Describe>
  void list_of(std::string_view key, std::vector<T>& items, Describe&& describe) {
    list(
        key, [&](std::size_t n) { items.resize(n); }, [&] { return items.size(); },
        [&](ConfigFields& f, std::size_t i) { describe(f, items[i]); });
  }
};

using DescribeConfig = std::function<void(ConfigFields&)>;

// Read JSON text (comments allowed) into the fields `describe` declares. Errors name the
// key's path: unknown keys, wrong types, negative sizes, failed `require`s.
Result<void> read_config(const std::string& text, const DescribeConfig& describe);
// Apply the environment variables the fields name. An unparsable value is an error naming
// the variable.
Result<void> apply_config_env(const DescribeConfig& describe);
// Check every constraint; the first failure is the error.
Result<void> validate_config(const DescribeConfig& describe);

// The environment variables the fields name, in declaration order, each with the key path
// it overrides: for --help, and for checking deployment manifests against the binaries.
struct ConfigEnvVariable {
  std::string name;
  std::string key;
};
std::vector<ConfigEnvVariable> config_env_variables(const DescribeConfig& describe);
// "Environment variables ...:" and one aligned line per variable.
std::string env_help(const std::vector<ConfigEnvVariable>& vars);

Result<std::string> read_file(const std::string& path);

// True when `s` is empty or starts with http:// or https:// (the form of every base URL).
bool is_http_url_or_empty(std::string_view s);

}  // namespace ragd
