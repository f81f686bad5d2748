// Rules: a rules document from arbitrary bytes, and rule matching on arbitrary queries.
// The input is `rules JSON` NUL `query`; without a NUL, the whole input is a query for the
// shipped config/rules.json. Queries are cut at the API's limit (4,000 characters), as the
// gateway does before rules see them.
#include "ragd/rules/rules.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#ifndef RAGD_SOURCE_DIR
#error "RAGD_SOURCE_DIR names the source tree (for config/rules.json)"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ragd::rules::RuleSet shipped = [] {
    auto r = ragd::rules::RuleSet::load(RAGD_SOURCE_DIR "/config/rules.json");
    if (!r) std::abort();
    return std::move(*r);
  }();
  constexpr std::size_t kMaxQuery = 4000;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nul = in.find('\0');
  if (nul == std::string_view::npos) {
    (void)shipped.evaluate(in.substr(0, kMaxQuery));
    return 0;
  }
  auto rules = ragd::rules::RuleSet::parse(std::string(in.substr(0, nul)));
  if (!rules) return 0;
  (void)rules->evaluate(in.substr(nul + 1, kMaxQuery));
  (void)rules->rules();
  return 0;
}
