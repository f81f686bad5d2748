// The one ASCII case-folding helper and its neighbours: letters fold, nothing else moves.
#include "ragd/core/ascii.hpp"

#include <gtest/gtest.h>

using namespace ragd;

TEST(Ascii, LowercasesLettersOnlyAndLeavesOtherBytesAlone) {
  EXPECT_EQ(ascii_lowercase("Content-Type: X"), "content-type: x");
  EXPECT_EQ(ascii_lowercase("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes unchanged
  std::string s = "ABC-09";
  ascii_lowercase_in_place(s);
  EXPECT_EQ(s, "abc-09");
}

TEST(Ascii, ComparesIgnoringCaseAgainstALowerCaseToken) {
  EXPECT_TRUE(ascii_iequals("BeArEr ", "bearer "));
  EXPECT_FALSE(ascii_iequals("bearer", "bearer "));
  EXPECT_FALSE(ascii_iequals("Bearex ", "bearer "));
}

TEST(Ascii, ReadsHexDigitsInEitherCase) {
  EXPECT_EQ(ascii_hex_value('0'), 0);
  EXPECT_EQ(ascii_hex_value('a'), 10);
  EXPECT_EQ(ascii_hex_value('F'), 15);
  EXPECT_EQ(ascii_hex_value('g'), -1);
  EXPECT_EQ(ascii_hex_value('%'), -1);
}
