// The rules in force, replaceable while queries run: a SIGHUP makes the gateway read its
// rules file again. evaluate() uses the set in force when it is called; reload() reads and
// checks the file, then swaps the new set in atomically, so a query is decided by the old
// rules or the new ones, never by a mix, and none waits for a reload. A file that does not
// load (missing, bad JSON, a bad rule) leaves the old rules in force; the error says why.
//
// Thread-safety: all member functions may be called from any thread at once; reload()
// blocks on file I/O, so call it off the I/O threads.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/rules/rules.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ragd::rules {

class ReloadableRules {
 public:
  // Fixed rules, not read from a file (reload() fails).
  explicit ReloadableRules(RuleSet rules);
  // The rules of `path`; the error names the file and the rule.
  static Result<std::shared_ptr<ReloadableRules>> load(const std::string& path);

  RuleDecision evaluate(std::string_view query) const;
  RuleSet current() const;
  const std::string& path() const { return path_; }

  // Reads the file again; returns the new set's rule count, or why the old set stays.
  Result<std::size_t> reload();

 private:
  ReloadableRules(std::string path, RuleSet rules);

  std::string path_;
  std::atomic<std::shared_ptr<const RuleSet>> current_;
  std::mutex reloading_;  // one reload at a time
};

}  // namespace ragd::rules
