// The rules engine: the first look at every query. A rule matches a query by keywords
// (whole words or phrases, case-insensitive), by a regular expression (RE2 syntax, matched
// in time linear in the query whatever the pattern), or both, and then
// blocks the query, answers it outright with a canned reply (no retrieval, no LLM), or
// adds an instruction to the prompt. Rules live in a JSON file (comments allowed); its
// format is documented in config/rules.json and checked strictly on load: unknown keys,
// wrong types, bad regexes and duplicate ids are errors naming the rule.
//
// Precedence: a matching block rule wins over an answer rule, which wins over instruct
// rules; among rules of one action the higher `priority` wins, then the earlier rule in
// the file. Every matching instruct rule contributes its instruction, in that order, and
// may set how long the answer it shapes stays fresh and servable in the answer cache.
//
// Thread-safety: a RuleSet is immutable after parse()/load() and shares its compiled
// rules between copies; evaluate() is a pure function safe from any number of threads.
#pragma once

#include "ragd/core/error.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::rules {

enum class RuleAction { block, answer, instruct };

struct RuleDecision {
  enum Action { none, block, answer };
  Action action = none;
  std::string rule_id;                    // the deciding rule (block or answer), else empty
  std::string message;                    // block reason or canned answer
  std::vector<std::string> instructions;  // from every matching instruct rule, best first
  std::vector<std::string> matched_rule_ids;  // every matching rule, in precedence order
  // Answer-cache lifetimes asked for by matching instruct rules (the shortest of each
  // wins when several ask); 0 = the gateway's cache.soft_ttl_ms / hard_ttl_ms.
  std::int64_t cache_soft_ttl_ms = 0;
  std::int64_t cache_hard_ttl_ms = 0;
};

std::string_view to_string(RuleDecision::Action action) noexcept;
std::string_view to_string(RuleAction action) noexcept;

// One rule as written in the file (after validation), for listing and diagnostics.
struct RuleInfo {
  std::string id;
  RuleAction action = RuleAction::instruct;
  int priority = 0;
  std::string description;
};

class RuleSet {
 public:
  RuleSet();  // no rules: evaluate() always returns action none

  // Parses the rules document. Errors are Errc::bad_request with a message naming the
  // rule (by index and id) and the key, e.g. `rules[2] ("greeting").match.regex: ...`.
  static Result<RuleSet> parse(const std::string& json_text);

  // Reads and parses a file; the error names the file.
  static Result<RuleSet> load(const std::string& path);

  RuleDecision evaluate(std::string_view query) const;

  std::size_t size() const;
  bool empty() const { return size() == 0; }
  std::vector<RuleInfo> rules() const;

  struct Compiled;  // the compiled rules; defined in the implementation

 private:
  explicit RuleSet(std::shared_ptr<const Compiled> compiled);
  std::shared_ptr<const Compiled> compiled_;
};

// The word normalisation keyword matching uses (and the embedder's): ASCII lower-cased,
// other ASCII bytes as separators, bytes >= 0x80 kept as letters. Exposed for tests.
std::vector<std::string> normalize_words(std::string_view text);

}  // namespace ragd::rules
