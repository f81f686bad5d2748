#include "ragd/rules/reloadable_rules.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace ragd;
using namespace ragd::rules;

namespace {

std::string answering(const std::string& reply) {
  return R"({"rules": [{"id": "ping", "match": {"keywords": ["ping"]}, "action": "answer", "message": ")" + reply +
         R"("}]})";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

}  // namespace

TEST(ReloadableRules, ReloadAppliesTheFileAsItIsNow) {
  test::TempDir dir;
  const std::string path = dir.path() + "/rules.json";
  write(path, answering("pong-1"));
  auto rules = ReloadableRules::load(path);
  ASSERT_TRUE(rules) << rules.error().message;
  EXPECT_EQ((*rules)->evaluate("ping").message, "pong-1");
  write(path, answering("pong-2"));
  EXPECT_EQ((*rules)->evaluate("ping").message, "pong-1") << "nothing changes until reload()";
  auto n = (*rules)->reload();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ((*rules)->evaluate("ping").message, "pong-2");
}

TEST(ReloadableRules, ABrokenFileKeepsTheRulesInForceAndSaysWhy) {
  test::TempDir dir;
  const std::string path = dir.path() + "/rules.json";
  write(path, answering("pong-1"));
  auto rules = ReloadableRules::load(path);
  ASSERT_TRUE(rules) << rules.error().message;
  write(path, R"js({"rules": [{"id": "bad", "match": {"regex": "(?=x)"}, "action": "block", "message": "m"}]})js");
  auto n = (*rules)->reload();
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find(path), std::string::npos) << n.error().message;
  EXPECT_NE(n.error().message.find("rules[0] (\"bad\").match.regex"), std::string::npos) << n.error().message;
  EXPECT_EQ((*rules)->evaluate("ping").message, "pong-1");
  std::filesystem::remove(path);
  EXPECT_FALSE((*rules)->reload());
  EXPECT_EQ((*rules)->evaluate("ping").message, "pong-1");
}

TEST(ReloadableRules, QueriesDuringReloadsSeeTheOldRulesOrTheNewNeverNone) {
  test::TempDir dir;
  const std::string path = dir.path() + "/rules.json";
  write(path, answering("pong-a"));
  auto loaded = ReloadableRules::load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto rules = *loaded;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, seen{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        auto d = rules->evaluate("ping");
        if (d.message != "pong-a" && d.message != "pong-b") ++bad;
        ++seen;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    // Written aside and renamed into place, as editors and config managers do.
    write(path + ".tmp", answering(i % 2 ? "pong-a" : "pong-b"));
    std::filesystem::rename(path + ".tmp", path);
    ASSERT_TRUE(rules->reload());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(seen.load(), 0);
}

TEST(ReloadableRules, FixedRulesCannotBeReloaded) {
  ReloadableRules rules{RuleSet{}};
  EXPECT_EQ(rules.evaluate("ping").action, RuleDecision::none);
  EXPECT_FALSE(rules.reload());
}
