// The request mix: scenarios read from a JSON file (bench/scenarios/*.json) and the
// QueryMix that turns them into /query bodies. A scenario has a name, a weight, questions
// (a "{n}" in a question is replaced by a number), an optional top_k and optional long
// context padding. A repeat fraction of requests re-asks a question from a small hot set so
// the answer cache sees realistic repeats; the rest are unique.
//
// Thread-safety: ScenarioSet and QueryMix are immutable after construction and may be
// shared by threads; each caller passes its own random generator.
#pragma once

#include "ragd/core/error.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::bench {

struct Scenario {
  std::string name;
  double weight = 1;
  std::vector<std::string> questions;
  int top_k = 0;                  // 0 = leave it to the server's default
  std::size_t long_context_chars = 0;  // padding appended to every question, 0 = none
};

struct ScenarioSet {
  std::vector<Scenario> scenarios;
  std::size_t hot_set_size = 32;  // distinct repeated questions per scenario
};

// Parses the scenario file's text (JSON; // comments allowed; unknown keys are errors).
Result<ScenarioSet> parse_scenarios(std::string_view json_text);

// The mix used when no --scenarios file is given.
ScenarioSet default_scenarios();

using Rng = std::mt19937_64;

class QueryMix {
 public:
  // repeat_fraction in [0, 1].
  QueryMix(ScenarioSet set, double repeat_fraction);

  struct Query {
    std::size_t scenario = 0;
    bool repeat = false;
    std::string body;  // the /query JSON body
  };

  Query next(Rng& rng) const;
  std::size_t pick_scenario(Rng& rng) const;

  const ScenarioSet& set() const noexcept { return set_; }
  // The hot-set body number i of scenario s (also what repeats send).
  const std::string& hot_body(std::size_t s, std::size_t i) const { return hot_[s][i]; }

 private:
  std::string make_body(std::size_t s, std::size_t question, std::uint64_t number, bool unique) const;

  ScenarioSet set_;
  double repeat_fraction_;
  std::vector<double> cumulative_;           // cumulative weights, normalised to end at 1
  std::vector<std::string> fillers_;         // long-context padding per scenario (plain words)
  std::vector<std::vector<std::string>> hot_;  // precomputed hot-set bodies per scenario
};

}  // namespace ragd::bench
