#include "ragd/orchestrator/session_history.hpp"

#include <gtest/gtest.h>

namespace ragd::orchestrator {
namespace {

TEST(SessionHistory, EncodesAndDecodesTurnsWithAnyBytes) {
  SessionSnapshot s;
  s.version = 42;
  s.turns = {{"what is 1:2?", "a;b\n\"c\""}, {"", std::string("nul\0byte", 8)}, {"caf\xc3\xa9", "12:ok"}};
  auto back = decode_session(encode_session(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->version, 42);
  ASSERT_EQ(back->turns.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->turns[i].question, s.turns[i].question);
    EXPECT_EQ(back->turns[i].answer, s.turns[i].answer);
  }
  auto empty = decode_session(encode_session({}));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->turns.empty());
}

TEST(SessionHistory, RefusesWhatItDidNotWrite) {
  const std::string good = encode_session({7, {{"q", "a"}}});
  EXPECT_TRUE(decode_session(good));
  for (const std::string& bad : {std::string(), std::string("v2;1;0;"), std::string("v1;x;0;"), std::string("v1;1;2;1:q1:a"),
                                good.substr(0, good.size() - 1), good + "x", std::string("v1;1;1;9:q1:a"),
                                std::string("v1;1;99999999999;")}) {
    EXPECT_FALSE(decode_session(bad)) << bad;
  }
}

TEST(SessionHistory, AppendKeepsTheLastTurns) {
  std::vector<Turn> t = {{"1", "a"}, {"2", "b"}};
  t = append_and_trim(std::move(t), {"3", "c"}, 2);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].question, "2");
  EXPECT_EQ(t[1].question, "3");
  EXPECT_EQ(append_and_trim({}, {"x", "y"}, 0).size(), 1u);
}

}  // namespace
}  // namespace ragd::orchestrator
