// The fake LLM's pure parts; the server itself is exercised over HTTP by the net, llm and
// integration tests.
#include "fake_llm/fake_llm_server.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ragd::fake_llm {
namespace {

// The definition count_words() must keep: a word starts at a byte other than a space whose
// predecessor is a space, or at the first byte.
int words_one_byte_at_a_time(std::string_view s) {
  int n = 0;
  bool after_space = true;
  for (const unsigned char c : s) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
    if (!space && after_space) ++n;
    after_space = space;
  }
  return n;
}

TEST(FakeLlm, CountsWordsAsRunsOfNonSpaceBytes) {
  EXPECT_EQ(count_words(""), 0);
  EXPECT_EQ(count_words("   \t\n"), 0);
  EXPECT_EQ(count_words("one"), 1);
  EXPECT_EQ(count_words("  two words  "), 2);
  EXPECT_EQ(count_words("a\vb\fc\rd\te\nf"), 6);
  // Bytes of other scripts, control bytes outside \t..\r and DEL are parts of words.
  EXPECT_EQ(count_words("caf\xc3\xa9 \xe2\x82\xac\x01\x7f x\x08y"), 3);
  // A word across the sixteen-byte blocks, and spaces at their edges. (Built with append:
  // GCC 12 warns falsely about operator+ on these temporaries with -Warray-bounds.)
  std::string across(15, 'a');
  across.append(" ").append(40, 'b');
  EXPECT_EQ(count_words(across), 2);
  std::string edges(16, ' ');
  edges.append("x").append(15, ' ').append("y");
  EXPECT_EQ(count_words(edges), 2);
}

TEST(FakeLlm, CountsWordsLikeTheByteLoopOnRandomText) {
  // Mostly the bytes around the space test's edges, at every length up to a few blocks.
  const std::string alphabet = std::string("ab \t\n\v\f\r\x08\x0e\x1f\x7f\x80\xff", 14);
  std::mt19937 rng(3);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (std::size_t len = 0; len < 100; ++len) {
    for (int round = 0; round < 40; ++round) {
      std::string s;
      for (std::size_t i = 0; i < len; ++i) s += alphabet[pick(rng)];
      ASSERT_EQ(count_words(s), words_one_byte_at_a_time(s)) << "length " << len << " round " << round;
    }
  }
}

JsonValue::Array one_question(const std::string& q) {
  JsonValue::Object m;
  m.emplace_back("role", JsonValue(std::string("user")));
  m.emplace_back("content", JsonValue(q));
  return JsonValue::Array{JsonValue(std::move(m))};
}

TEST(FakeLlm, AnswersWithExactlyTheConfiguredNumberOfWords) {
  EXPECT_EQ(fake_answer(one_question("Why is the sky blue?")), "fake answer to: Why is the sky blue?");
  EXPECT_EQ(fake_answer(one_question("Why is the sky blue?"), 4), "fake answer to: Why");
  EXPECT_EQ(fake_answer(one_question("Why?"), 7), "fake answer to: Why? lorem ipsum dolor");
  EXPECT_EQ(count_words(fake_answer(one_question("Why?"), 300)), 300);
}

TEST(FakeLlm, ParsesItsBase64Modes) {
  Base64Support b = Base64Support::yes;
  EXPECT_TRUE(parse_base64_support("reject", b));
  EXPECT_EQ(b, Base64Support::reject);
  EXPECT_TRUE(parse_base64_support("ignore", b));
  EXPECT_EQ(b, Base64Support::ignore);
  EXPECT_TRUE(parse_base64_support("yes", b));
  EXPECT_EQ(b, Base64Support::yes);
  EXPECT_FALSE(parse_base64_support("no", b));
}

TEST(FakeLlm, EmbeddingsHaveTheirOwnLatency) {
  FakeLlmOptions o;
  o.latency_ms = 50;
  std::mt19937_64 rng(1);
  EXPECT_EQ(sample_latency_ms(o, rng), 50);
  EXPECT_EQ(sample_latency_ms(o, rng, 5), 5);
}

}  // namespace
}  // namespace ragd::fake_llm
