#include "ragd/rules/rules.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/config_fields.hpp"

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

namespace ragd::rules {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxRuleIdChars = 128;

bool is_word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Lower-cases `text` into `buffer` and returns its words as views into it.
std::vector<std::string_view> split_words(std::string_view text, std::string& buffer) {
  buffer.clear();
  buffer.reserve(text.size());
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t begin = buffer.size();
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) {
      const char c = ascii_lower(text[i++]);
      buffer.push_back(c);
    }
    if (buffer.size() > begin) spans.emplace_back(begin, buffer.size() - begin);
  }
  std::vector<std::string_view> words;
  words.reserve(spans.size());
  for (auto [b, n] : spans) words.emplace_back(buffer.data() + b, n);
  return words;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// A keyword or phrase, as normalised words.
struct Phrase {
  std::vector<std::string> words;
};

}  // namespace

struct RuleSet::Compiled {
  struct Rule {
    RuleInfo info;
    std::size_t file_index = 0;
    std::vector<std::size_t> any_phrases;  // indexes into phrases
    std::vector<std::size_t> all_phrases;
    // RE2: linear in the query's length whatever the pattern (no backtracking), so a rule
    // cannot make a query, which runs on an I/O thread, expensive.
    std::shared_ptr<const re2::RE2> regex;  // null: no regex
    std::string message;
    std::string instruction;
    std::int64_t cache_soft_ttl_ms = 0;  // instruct rules only; 0 = the gateway's
    std::int64_t cache_hard_ttl_ms = 0;
  };
  std::vector<Rule> rules;  // enabled rules, in precedence order: priority desc, file order
  std::size_t file_rule_count = 0;
  std::vector<RuleInfo> listed;  // every rule in file order, enabled or not
  std::vector<Phrase> phrases;
  // First word of a phrase -> the phrases starting with it, so a query is scanned once.
  std::unordered_map<std::string, std::vector<std::size_t>, StringHash, std::equal_to<>> by_first_word;
};

std::string_view to_string(RuleDecision::Action action) noexcept {
  switch (action) {
    case RuleDecision::none: return "none";
    case RuleDecision::block: return "block";
    case RuleDecision::answer: return "answer";
  }
  return "none";
}

std::string_view to_string(RuleAction action) noexcept {
  switch (action) {
    case RuleAction::block: return "block";
    case RuleAction::answer: return "answer";
    case RuleAction::instruct: return "instruct";
  }
  return "instruct";
}

std::vector<std::string> normalize_words(std::string_view text) {
  std::string buffer;
  auto views = split_words(text, buffer);
  return {views.begin(), views.end()};
}

RuleSet::RuleSet() : compiled_(std::make_shared<Compiled>()) {}

RuleSet::RuleSet(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}

std::size_t RuleSet::size() const { return compiled_->file_rule_count; }

std::vector<RuleInfo> RuleSet::rules() const { return compiled_->listed; }

namespace {

Error rule_error(std::size_t index, const std::string& id, const std::string& what) {
  std::string where = "rules[" + std::to_string(index) + "]";
  if (!id.empty()) where += " (\"" + id + "\")";
  return make_error(Errc::bad_request, where + what);
}

Result<std::string> required_string(const json& obj, const char* key, std::size_t index,
                                     const std::string& id, const std::string& prefix = "") {
  auto it = obj.find(key);
  if (it == obj.end()) return rule_error(index, id, "." + prefix + key + " is required");
  if (!it->is_string()) return rule_error(index, id, "." + prefix + key + " must be a string");
  auto s = it->get<std::string>();
  if (s.empty()) return rule_error(index, id, "." + prefix + key + " must not be empty");
  return s;
}

}  // namespace

Result<RuleSet> RuleSet::parse(const std::string& json_text) {
  json doc;
  try {
    doc = json::parse(json_text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    return make_error(Errc::bad_request, std::string("rules: invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) return make_error(Errc::bad_request, "rules: the document must be an object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "rules") return make_error(Errc::bad_request, "rules: unknown key \"" + key + "\"");
  }
  auto rules_it = doc.find("rules");
  if (rules_it == doc.end()) return make_error(Errc::bad_request, "rules: \"rules\" is required");
  if (!rules_it->is_array()) return make_error(Errc::bad_request, "rules: \"rules\" must be an array");

  auto compiled = std::make_shared<Compiled>();
  std::unordered_set<std::string> ids;
  std::vector<Compiled::Rule> enabled;

  auto add_phrases = [&](const json& list, const char* key, std::size_t index, const std::string& id,
                         std::vector<std::size_t>& out) -> Result<void> {
    const std::string name = std::string(".match.") + key;
    if (!list.is_array()) return rule_error(index, id, name + " must be an array of strings");
    if (list.empty()) return rule_error(index, id, name + " must not be empty");
    for (std::size_t k = 0; k < list.size(); ++k) {
      const std::string at = name + "[" + std::to_string(k) + "]";
      if (!list[k].is_string()) return rule_error(index, id, at + " must be a string");
      auto words = normalize_words(list[k].get<std::string>());
      if (words.empty()) return rule_error(index, id, at + " has no letters or digits");
      out.push_back(compiled->phrases.size());
      compiled->by_first_word[words.front()].push_back(compiled->phrases.size());
      compiled->phrases.push_back(Phrase{std::move(words)});
    }
    return {};
  };

  const json& list = *rules_it;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& r = list[i];
    if (!r.is_object()) return rule_error(i, "", " must be an object");
    // The id first, so every later error can name the rule.
    auto id = required_string(r, "id", i, "");
    if (!id) return id.error();
    if (id->size() > kMaxRuleIdChars) {
      return rule_error(i, "", ".id is longer than " + std::to_string(kMaxRuleIdChars) + " characters");
    }
    if (!ids.insert(*id).second) return rule_error(i, *id, ".id repeats an earlier rule's id");

    static const std::unordered_set<std::string> kRuleKeys = {
        "id", "description", "enabled", "match", "action", "message", "instruction", "priority",
        "cache_soft_ttl_ms", "cache_hard_ttl_ms"};
    for (const auto& [key, value] : r.items()) {
      if (kRuleKeys.count(key) == 0) return rule_error(i, *id, ": unknown key \"" + key + "\"");
    }

    Compiled::Rule rule;
    rule.info.id = *id;
    rule.file_index = i;

    auto action = required_string(r, "action", i, *id);
    if (!action) return action.error();
    if (*action == "block") {
      rule.info.action = RuleAction::block;
    } else if (*action == "answer") {
      rule.info.action = RuleAction::answer;
    } else if (*action == "instruct") {
      rule.info.action = RuleAction::instruct;
    } else {
      return rule_error(i, *id, ".action must be \"block\", \"answer\" or \"instruct\", not \"" +
                                    *action + "\"");
    }

    if (rule.info.action == RuleAction::instruct) {
      if (r.contains("message")) {
        return rule_error(i, *id, ".message is for block and answer rules; instruct rules use .instruction");
      }
      auto instruction = required_string(r, "instruction", i, *id);
      if (!instruction) return instruction.error();
      rule.instruction = std::move(*instruction);
    } else {
      if (r.contains("instruction")) {
        return rule_error(i, *id, ".instruction is only for instruct rules");
      }
      auto message = required_string(r, "message", i, *id);
      if (!message) return message.error();
      rule.message = std::move(*message);
    }

    for (auto [key, out] : {std::pair<const char*, std::int64_t*>{"cache_soft_ttl_ms", &rule.cache_soft_ttl_ms},
                            std::pair<const char*, std::int64_t*>{"cache_hard_ttl_ms", &rule.cache_hard_ttl_ms}}) {
      auto it = r.find(key);
      if (it == r.end()) continue;
      if (rule.info.action != RuleAction::instruct) {
        return rule_error(i, *id, std::string(".") + key + " is only for instruct rules (block and answer replies are never cached)");
      }
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1000 ||
          it->get<std::int64_t>() > 30LL * 24 * 3600 * 1000) {
        return rule_error(i, *id, std::string(".") + key + " must be an integer from 1000 (1 s) to 2592000000 (30 days)");
      }
      *out = it->get<std::int64_t>();
    }
    if (rule.cache_soft_ttl_ms > 0 && rule.cache_hard_ttl_ms > 0 && rule.cache_hard_ttl_ms < rule.cache_soft_ttl_ms) {
      return rule_error(i, *id, ".cache_hard_ttl_ms must be at least cache_soft_ttl_ms");
    }
    if (auto it = r.find("priority"); it != r.end()) {
      if (!it->is_number_integer()) return rule_error(i, *id, ".priority must be an integer");
      const auto p = it->get<std::int64_t>();
      if (p < -1000000 || p > 1000000) {
        return rule_error(i, *id, ".priority must be between -1000000 and 1000000");
      }
      rule.info.priority = static_cast<int>(p);
    }
    bool is_enabled = true;
    if (auto it = r.find("enabled"); it != r.end()) {
      if (!it->is_boolean()) return rule_error(i, *id, ".enabled must be true or false");
      is_enabled = it->get<bool>();
    }
    if (auto it = r.find("description"); it != r.end()) {
      if (!it->is_string()) return rule_error(i, *id, ".description must be a string");
      rule.info.description = it->get<std::string>();
    }

    auto match_it = r.find("match");
    if (match_it == r.end()) return rule_error(i, *id, ".match is required");
    if (!match_it->is_object()) return rule_error(i, *id, ".match must be an object");
    const json& match = *match_it;
    for (const auto& [key, value] : match.items()) {
      if (key != "keywords" && key != "all_keywords" && key != "regex") {
        return rule_error(i, *id, ".match: unknown key \"" + key + "\"");
      }
    }
    if (match.empty()) {
      return rule_error(i, *id, ".match needs at least one of keywords, all_keywords, regex");
    }
    if (auto it = match.find("keywords"); it != match.end()) {
      if (auto ok = add_phrases(*it, "keywords", i, *id, rule.any_phrases); !ok) return ok.error();
    }
    if (auto it = match.find("all_keywords"); it != match.end()) {
      if (auto ok = add_phrases(*it, "all_keywords", i, *id, rule.all_phrases); !ok) return ok.error();
    }
    if (auto it = match.find("regex"); it != match.end()) {
      if (!it->is_string()) return rule_error(i, *id, ".match.regex must be a string");
      const auto pattern = it->get<std::string>();
      if (pattern.empty()) return rule_error(i, *id, ".match.regex must not be empty");
      re2::RE2::Options options;
      options.set_case_sensitive(false);
      options.set_log_errors(false);
      auto regex = std::make_shared<const re2::RE2>(pattern, options);
      if (!regex->ok()) {
        return rule_error(i, *id, ".match.regex does not compile (RE2 syntax: no backreferences or lookaround): " +
                                      regex->error());
      }
      rule.regex = std::move(regex);
    }

    compiled->listed.push_back(rule.info);
    if (is_enabled) enabled.push_back(std::move(rule));
  }

  std::stable_sort(enabled.begin(), enabled.end(), [](const auto& a, const auto& b) {
    return a.info.priority > b.info.priority;
  });
  compiled->rules = std::move(enabled);
  compiled->file_rule_count = list.size();
  return RuleSet(std::move(compiled));
}

Result<RuleSet> RuleSet::load(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  auto set = parse(*text);
  if (!set) return prefixed(path + ": ", set.error());
  return set;
}

RuleDecision RuleSet::evaluate(std::string_view query) const {
  RuleDecision decision;
  const Compiled& c = *compiled_;
  if (c.rules.empty()) return decision;

  std::string buffer;
  const auto words = split_words(query, buffer);
  std::vector<char> phrase_hit(c.phrases.size(), 0);
  for (std::size_t i = 0; i < words.size(); ++i) {
    auto it = c.by_first_word.find(words[i]);
    if (it == c.by_first_word.end()) continue;
    for (std::size_t p : it->second) {
      if (phrase_hit[p]) continue;
      const auto& pw = c.phrases[p].words;
      if (i + pw.size() > words.size()) continue;
      bool all = true;
      for (std::size_t k = 1; k < pw.size() && all; ++k) all = words[i + k] == pw[k];
      if (all) phrase_hit[p] = 1;
    }
  }

  const Compiled::Rule* deciding = nullptr;
  for (const auto& rule : c.rules) {  // already in precedence order
    if (!rule.any_phrases.empty() &&
        std::none_of(rule.any_phrases.begin(), rule.any_phrases.end(),
                     [&](std::size_t p) { return phrase_hit[p] != 0; })) {
      continue;
    }
    if (!std::all_of(rule.all_phrases.begin(), rule.all_phrases.end(),
                     [&](std::size_t p) { return phrase_hit[p] != 0; })) {
      continue;
    }
    if (rule.regex && !re2::RE2::PartialMatch(re2::StringPiece(query.data(), query.size()), *rule.regex)) {
      continue;
    }
    decision.matched_rule_ids.push_back(rule.info.id);
    switch (rule.info.action) {
      case RuleAction::block:
        if (deciding == nullptr || deciding->info.action != RuleAction::block) deciding = &rule;
        break;
      case RuleAction::answer:
        if (deciding == nullptr) deciding = &rule;
        break;
      case RuleAction::instruct: {
        decision.instructions.push_back(rule.instruction);
        auto shortest = [](std::int64_t current, std::int64_t asked) {
          return asked > 0 && (current == 0 || asked < current) ? asked : current;
        };
        decision.cache_soft_ttl_ms = shortest(decision.cache_soft_ttl_ms, rule.cache_soft_ttl_ms);
        decision.cache_hard_ttl_ms = shortest(decision.cache_hard_ttl_ms, rule.cache_hard_ttl_ms);
        break;
      }
    }
  }
  if (deciding != nullptr) {
    decision.action = deciding->info.action == RuleAction::block ? RuleDecision::block
                                                                 : RuleDecision::answer;
    decision.rule_id = deciding->info.id;
    decision.message = deciding->message;
  }
  return decision;
}

}  // namespace ragd::rules
