#include "ragbench/scenario.hpp"

#include "ragd/core/json_writer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace ragd::bench {

namespace {

using nlohmann::json;

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

Result<void> only_keys(const json& j, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      return bad(where + ": unknown key '" + it.key() + "'");
    }
  }
  return {};
}

// Words for the long-context padding: plain prose so the embedder and the prompt see text,
// not a run of one character.
constexpr std::string_view kFillerWords[] = {
    "the", "gateway", "answers", "queries", "with", "passages", "retrieved", "from", "an",
    "index", "while", "workers", "call", "model", "and", "cache", "results", "for", "later",
    "requests", "under", "load", "each", "stage", "has", "its", "own", "deadline"};

std::string make_filler(std::size_t chars) {
  std::string out;
  if (chars == 0) return out;
  out.reserve(chars + 16);
  out += "\n\nContext:";
  std::size_t i = 0;
  while (out.size() < chars) {
    out += ' ';
    out += kFillerWords[(i * 7 + i / 5) % std::size(kFillerWords)];
    ++i;
  }
  out.resize(chars);
  return out;
}

}  // namespace

Result<ScenarioSet> parse_scenarios(std::string_view json_text) {
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, false, /*ignore_comments=*/true);
  if (j.is_discarded()) return bad("scenario file is not valid JSON");
  if (!j.is_object()) return bad("scenario file must be a JSON object with a 'scenarios' array");
  if (auto r = only_keys(j, {"scenarios", "hot_set_size", "description"}, "scenario file"); !r) return r.error();
  ScenarioSet set;
  if (auto h = j.find("hot_set_size"); h != j.end()) {
    if (!h->is_number_integer() || h->get<long long>() < 1 || h->get<long long>() > 100000) {
      return bad("'hot_set_size' must be an integer between 1 and 100000");
    }
    set.hot_set_size = h->get<std::size_t>();
  }
  auto list = j.find("scenarios");
  if (list == j.end() || !list->is_array() || list->empty()) return bad("'scenarios' must be a non-empty array");
  std::set<std::string> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& s = (*list)[i];
    const std::string where = "scenarios[" + std::to_string(i) + "]";
    if (!s.is_object()) return bad(where + " must be an object");
    if (auto r = only_keys(s, {"name", "weight", "questions", "top_k", "long_context_chars"}, where); !r) {
      return r.error();
    }
    Scenario sc;
    auto name = s.find("name");
    if (name == s.end() || !name->is_string() || name->get<std::string>().empty()) {
      return bad(where + ".name must be a non-empty string");
    }
    sc.name = name->get<std::string>();
    if (!names.insert(sc.name).second) return bad(where + ": duplicate name '" + sc.name + "'");
    if (auto w = s.find("weight"); w != s.end()) {
      if (!w->is_number() || !(w->get<double>() > 0)) return bad(where + ".weight must be a positive number");
      sc.weight = w->get<double>();
    }
    auto qs = s.find("questions");
    if (qs == s.end() || !qs->is_array() || qs->empty()) return bad(where + ".questions must be a non-empty array");
    for (const auto& q : *qs) {
      if (!q.is_string() || q.get<std::string>().empty()) return bad(where + ".questions must hold non-empty strings");
      sc.questions.push_back(q.get<std::string>());
    }
    if (auto k = s.find("top_k"); k != s.end()) {
      if (!k->is_number_integer() || k->get<long long>() < 1 || k->get<long long>() > 1000) {
        return bad(where + ".top_k must be an integer between 1 and 1000");
      }
      sc.top_k = k->get<int>();
    }
    if (auto c = s.find("long_context_chars"); c != s.end()) {
      if (!c->is_number_integer() || c->get<long long>() < 0 || c->get<long long>() > 1000000) {
        return bad(where + ".long_context_chars must be an integer between 0 and 1000000");
      }
      sc.long_context_chars = c->get<std::size_t>();
    }
    set.scenarios.push_back(std::move(sc));
  }
  return set;
}

ScenarioSet default_scenarios() {
  ScenarioSet set;
  Scenario s;
  s.name = "default";
  s.questions = {"How does ragd shed load?", "How do I scale the workers?",
                 "What does the answer cache do with stale entries?", "How are API keys configured?",
                 "What happens when Redis is unreachable?", "How does ingestion chunk documents?"};
  set.scenarios.push_back(std::move(s));
  return set;
}

QueryMix::QueryMix(ScenarioSet set, double repeat_fraction)
    : set_(std::move(set)), repeat_fraction_(std::clamp(repeat_fraction, 0.0, 1.0)) {
  double total = 0;
  for (const auto& s : set_.scenarios) total += s.weight;
  double acc = 0;
  for (const auto& s : set_.scenarios) {
    acc += s.weight;
    cumulative_.push_back(acc / total);
  }
  if (!cumulative_.empty()) cumulative_.back() = 1.0;  // no gap from rounding at the top
  for (std::size_t s = 0; s < set_.scenarios.size(); ++s) {
    fillers_.push_back(make_filler(set_.scenarios[s].long_context_chars));
    std::vector<std::string> hot;
    for (std::size_t i = 0; i < set_.hot_set_size; ++i) {
      const std::size_t q = i % set_.scenarios[s].questions.size();
      // The first pass over the questions is the questions themselves; later hot entries
      // are numbered variants, still a fixed set.
      hot.push_back(make_body(s, q, i, i >= set_.scenarios[s].questions.size()));
    }
    hot_.push_back(std::move(hot));
  }
}

std::string QueryMix::make_body(std::size_t s, std::size_t question, std::uint64_t number, bool unique) const {
  const Scenario& sc = set_.scenarios[s];
  std::string text = sc.questions[question];
  const std::string num = std::to_string(number);
  bool substituted = false;
  for (auto pos = text.find("{n}"); pos != std::string::npos; pos = text.find("{n}", pos + num.size())) {
    text.replace(pos, 3, num);
    substituted = true;
  }
  if (unique && !substituted) text += " (case " + num + ")";
  std::string body;
  body.reserve(text.size() + fillers_[s].size() + 48);
  body += "{\"query\":";
  text += fillers_[s];
  ragd::append_json_string(body, text);
  if (sc.top_k > 0) {
    body += ",\"top_k\":";
    body += std::to_string(sc.top_k);
  }
  body += '}';
  return body;
}

std::size_t QueryMix::pick_scenario(Rng& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  if (it == cumulative_.end()) --it;
  return static_cast<std::size_t>(it - cumulative_.begin());
}

QueryMix::Query QueryMix::next(Rng& rng) const {
  Query q;
  q.scenario = pick_scenario(rng);
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  // u < 1.0 always, so a fraction of 1.0 repeats every time and 0.0 never does.
  if (u < repeat_fraction_) {
    q.repeat = true;
    const std::size_t i = std::uniform_int_distribution<std::size_t>(0, set_.hot_set_size - 1)(rng);
    q.body = hot_[q.scenario][i];
  } else {
    const auto& qs = set_.scenarios[q.scenario].questions;
    const std::size_t qi = std::uniform_int_distribution<std::size_t>(0, qs.size() - 1)(rng);
    // Numbers past any hot-set index, random so concurrent workers and reruns do not collide.
    const std::uint64_t number =
        std::uniform_int_distribution<std::uint64_t>(1'000'000, 999'999'999'999ULL)(rng);
    q.body = make_body(q.scenario, qi, number, true);
  }
  return q;
}

}  // namespace ragd::bench
