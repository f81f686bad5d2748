#include "ragd/cache/answer_key.hpp"

#include <gtest/gtest.h>

using namespace ragd::cache;

TEST(AnswerKey, NormalisesCaseWhitespaceAndPunctuation) {
  EXPECT_EQ(normalize_query("  What IS   ragd?? "), "what is ragd");
  EXPECT_EQ(normalize_query("what-is ragd"), "what is ragd");
  AnswerKeyParts a;
  a.tenant = "t";
  a.query = "What is ragd?";
  AnswerKeyParts b = a;
  b.query = "what is RAGD";
  EXPECT_EQ(answer_key(a), answer_key(b));
  EXPECT_EQ(answer_key(a).size(), 64u);
}

TEST(AnswerKey, ChangesWithEverythingThatChangesTheAnswer) {
  AnswerKeyParts base;
  base.tenant = "t";
  base.query = "q";
  base.index_version = 1;
  base.model = "m";
  base.top_k = 4;
  const auto k = answer_key(base);
  auto differs = [&](auto mutate) {
    AnswerKeyParts p = base;
    mutate(p);
    return answer_key(p) != k;
  };
  EXPECT_TRUE(differs([](auto& p) { p.tenant = "other"; }));
  EXPECT_TRUE(differs([](auto& p) { p.cohort["expertise"] = "expert"; }));
  EXPECT_TRUE(differs([](auto& p) { p.session_context = {"earlier question", "earlier answer"}; }));
  EXPECT_TRUE(differs([](auto& p) { p.instructions = {"be brief"}; }));
  EXPECT_TRUE(differs([](auto& p) { p.index_version = 2; }));
  EXPECT_TRUE(differs([](auto& p) { p.prompt_version = 9; }));
  EXPECT_TRUE(differs([](auto& p) { p.model = "m2"; }));
  EXPECT_TRUE(differs([](auto& p) { p.top_k = 5; }));
  // Field boundaries are unambiguous.
  AnswerKeyParts x = base, y = base;
  x.cohort = {{"ab", "c"}};
  y.cohort = {{"a", "bc"}};
  EXPECT_NE(answer_key(x), answer_key(y));
}
