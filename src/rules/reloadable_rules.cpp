#include "ragd/rules/reloadable_rules.hpp"

namespace ragd::rules {

ReloadableRules::ReloadableRules(RuleSet rules) : ReloadableRules(std::string(), std::move(rules)) {}

ReloadableRules::ReloadableRules(std::string path, RuleSet rules)
    : path_(std::move(path)), current_(std::make_shared<const RuleSet>(std::move(rules))) {}

Result<std::shared_ptr<ReloadableRules>> ReloadableRules::load(const std::string& path) {
  auto set = RuleSet::load(path);
  if (!set) return set.error();
  return std::shared_ptr<ReloadableRules>(new ReloadableRules(path, std::move(*set)));
}

RuleDecision ReloadableRules::evaluate(std::string_view query) const { return current_.load()->evaluate(query); }

RuleSet ReloadableRules::current() const { return *current_.load(); }

Result<std::size_t> ReloadableRules::reload() {
  if (path_.empty()) return make_error(Errc::bad_request, "these rules were not read from a file");
  std::lock_guard lock(reloading_);
  auto set = RuleSet::load(path_);
  if (!set) return set.error();
  const std::size_t n = set->size();
  current_.store(std::make_shared<const RuleSet>(std::move(*set)));
  return n;
}

}  // namespace ragd::rules
