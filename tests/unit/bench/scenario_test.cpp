#include "ragbench/scenario.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace ragd::bench;

namespace {

constexpr const char* kTwo = R"({
  // comments are allowed
  "hot_set_size": 4,
  "scenarios": [
    {"name": "simple", "weight": 3, "questions": ["What is {n}?", "How \"quoted\" is this?"], "top_k": 4},
    {"name": "long", "weight": 1, "questions": ["Summarise."], "long_context_chars": 500}
  ]
})";

}  // namespace

TEST(ParseScenarios, ReadsEveryField) {
  auto set = parse_scenarios(kTwo).value();
  ASSERT_EQ(set.scenarios.size(), 2u);
  EXPECT_EQ(set.hot_set_size, 4u);
  EXPECT_EQ(set.scenarios[0].name, "simple");
  EXPECT_EQ(set.scenarios[0].weight, 3);
  EXPECT_EQ(set.scenarios[0].top_k, 4);
  EXPECT_EQ(set.scenarios[0].questions.size(), 2u);
  EXPECT_EQ(set.scenarios[1].long_context_chars, 500u);
  EXPECT_EQ(set.scenarios[1].top_k, 0);
}

TEST(ParseScenarios, NamesWhatIsWrong) {
  auto message = [](const char* text) { return parse_scenarios(text).error().message; };
  EXPECT_NE(message("[").find("not valid JSON"), std::string::npos);
  EXPECT_NE(message(R"({"scenarios": []})").find("non-empty"), std::string::npos);
  EXPECT_NE(message(R"({"scenarios": [{"name": "a", "questions": ["q"], "topk": 3}]})").find("unknown key 'topk'"),
            std::string::npos);
  EXPECT_NE(message(R"({"scenarios": [{"name": "a", "weight": 0, "questions": ["q"]}]})").find("weight"),
            std::string::npos);
  EXPECT_NE(message(R"({"scenarios": [{"name": "a", "questions": []}]})").find("questions"), std::string::npos);
  EXPECT_NE(message(R"({"scenarios": [{"name": "a", "questions": ["q"]}, {"name": "a", "questions": ["q"]}]})")
                .find("duplicate"),
            std::string::npos);
}

TEST(ParseScenarios, AcceptsTheShippedStandardMix) {
  std::ifstream in(std::string(RAGD_SOURCE_DIR) + "/bench/scenarios/standard.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto set = parse_scenarios(text.str());
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_GE(set->scenarios.size(), 3u);
  // Long-context bodies must still fit ragd's default query.max_query_chars (4000).
  QueryMix mix(*set, 0.0);
  Rng rng(1);
  for (int i = 0; i < 500; ++i) {
    auto j = nlohmann::json::parse(mix.next(rng).body);
    EXPECT_LE(j["query"].get<std::string>().size(), 4000u);
  }
}

TEST(QueryMix, PicksScenariosInProportionToTheirWeights) {
  QueryMix mix(parse_scenarios(kTwo).value(), 0.4);
  Rng rng(42);
  std::map<std::size_t, int> picks;
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++picks[mix.pick_scenario(rng)];
  EXPECT_NEAR(picks[0] / double(n), 0.75, 0.01);
  EXPECT_NEAR(picks[1] / double(n), 0.25, 0.01);
}

TEST(QueryMix, RepeatsTheHotSetAtTheRepeatFractionAndKeepsTheRestUnique) {
  QueryMix mix(parse_scenarios(kTwo).value(), 0.4);
  Rng rng(3);
  std::set<std::string> hot, unique;
  int repeats = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto q = mix.next(rng);
    if (q.repeat) {
      ++repeats;
      hot.insert(q.body);
    } else {
      EXPECT_TRUE(unique.insert(q.body).second) << "a unique question came twice: " << q.body;
    }
  }
  EXPECT_NEAR(repeats / double(n), 0.4, 0.015);
  EXPECT_LE(hot.size(), 8u);  // 4 per scenario
}

TEST(QueryMix, BuildsValidJsonBodiesWithTopKAndContext) {
  QueryMix mix(parse_scenarios(kTwo).value(), 0.5);
  Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    auto q = mix.next(rng);
    auto j = nlohmann::json::parse(q.body);  // throws on a broken escape
    ASSERT_TRUE(j["query"].is_string());
    if (q.scenario == 0) {
      EXPECT_EQ(j["top_k"], 4);
      EXPECT_EQ(j["query"].get<std::string>().find("{n}"), std::string::npos);
    } else {
      EXPECT_FALSE(j.contains("top_k"));
      EXPECT_GE(j["query"].get<std::string>().size(), 500u);
    }
  }
}

TEST(QueryMix, AskesOnlyTheHotSetWhenEveryRequestRepeats) {
  QueryMix mix(parse_scenarios(kTwo).value(), 1.0);
  Rng rng(9);
  std::set<std::string> bodies;
  for (int i = 0; i < 2000; ++i) bodies.insert(mix.next(rng).body);
  EXPECT_EQ(bodies.size(), 8u);
}
