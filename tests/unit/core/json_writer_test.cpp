#include "ragd/core/json_writer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace ragd {
namespace {

using nlohmann::json;

std::string literal(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// What nlohmann makes of `s` when told to replace invalid UTF-8: the reference.
std::string reference(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

TEST(JsonWriter, EscapesLikeTheReferenceSerializer) {
  for (std::string s : {std::string("plain"), std::string("quote \" and back\\slash"),
                        std::string("tab\tnew\nline\rcr\bbs\fff"), std::string("\x01\x1f\x7f", 3),
                        std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string()}) {
    EXPECT_EQ(literal(s), reference(s)) << s;
  }
}

TEST(JsonWriter, ReplacesInvalidUtf8AndStaysParseable) {
  const std::string bad[] = {
      "\xC3",                  // truncated
      "\xC0\xAF",              // overlong
      "\xED\xA0\x80",          // surrogate
      "\xF4\x90\x80\x80",      // past U+10FFFF
      "ok \xFF\xFE then ok",   // stray bytes
      "\xE2\x82",              // truncated three-byte form
  };
  for (const auto& s : bad) {
    auto text = literal(s);
    auto j = json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << text;
    EXPECT_NE(j.get<std::string>().find("\xEF\xBF\xBD"), std::string::npos) << text;
  }
}

TEST(JsonWriter, RandomBytesAlwaysGiveValidJsonThatKeepsValidText) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string s(static_cast<std::size_t>(round % 64), '\0');
    for (auto& c : s) c = static_cast<char>(byte(rng));
    auto text = literal(s);
    auto j = json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "round " << round;
    // Valid input comes back byte for byte.
    auto valid = json::parse(reference(s)).get<std::string>();
    if (valid == s) {
      EXPECT_EQ(j.get<std::string>(), s);
    }
  }
}

TEST(JsonWriter, LongTextsMatchTheReferencePieceByPiece) {
  // Texts of up to ~8 KB, the size of a prompt, built from pieces: plain runs from empty to
  // 700 bytes (across the scanner's 16- and 8-byte blocks and their tails), escapes,
  // multi-byte characters and invalid bytes. Escaping is piecewise here, so the expected
  // text is the pieces' reference escapes end to end.
  std::mt19937 rng(11);
  const std::vector<std::string> specials = {"\"", "\\", "\n", "\r", "\t", "\b", "\f",
                                             std::string("\x01", 1), "\x1f", "\x7f",
                                             "\xC3\xA9", "\xE2\x82\xAC", "\xE2\x80\xBA",
                                             "\xF0\x9F\x98\x80", "\xFF"};
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_int_distribution<int> run_length(0, 700);
  std::uniform_int_distribution<int> printable(0x20, 0x7e);
  std::uniform_int_distribution<std::size_t> pick(0, specials.size() - 1);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    std::string expected = "\"";
    const std::size_t target = static_cast<std::size_t>(round) * 27;
    while (text.size() < target) {
      std::string piece;
      if (kind(rng) == 0) {
        piece.resize(static_cast<std::size_t>(run_length(rng)));
        for (auto& c : piece) {
          do c = static_cast<char>(printable(rng));
          while (c == '"' || c == '\\');
        }
      } else {
        piece = specials[pick(rng)];
      }
      std::string escaped = piece == "\xFF" ? std::string("\xEF\xBF\xBD") : reference(piece);
      if (piece != "\xFF") escaped = escaped.substr(1, escaped.size() - 2);
      text += piece;
      expected += escaped;
    }
    expected += '"';
    ASSERT_EQ(literal(text), expected) << "round " << round << ", " << text.size() << " bytes";
  }
}

// Texts that grow when escaped, up to sixfold (control bytes) or twofold (quotes), appended
// after prefixes of every length around the string's small buffer and the scanner's blocks,
// must come out whole: nothing of the prefix lost, nothing of the text cut.
TEST(JsonWriter, TextsThatGrowUpToSixfoldAreWrittenWholeAfterAnyPrefix) {
  for (const char fill : {'\x01', '"'}) {
    for (std::size_t prefix = 0; prefix < 40; prefix += 3) {
      for (std::size_t n : {0, 1, 15, 16, 17, 31, 33, 100, 1000, 5000}) {
        const std::string text(n, fill);
        std::string out(prefix, 'p');
        append_json_string(out, text);
        ASSERT_EQ(out.size(), prefix + reference(text).size()) << n;
        EXPECT_EQ(out, std::string(prefix, 'p') + reference(text)) << "prefix " << prefix << ", " << n << " bytes";
      }
    }
  }
}

TEST(JsonWriter, WritesNestedStructuresNumbersAndRawValues) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .member("name", "ragd")
      .member("count", 3)
      .member("big", std::int64_t{1} << 53)
      .member("ratio", 0.125)
      .member("nan", std::numeric_limits<double>::quiet_NaN())
      .member("yes", true);
  w.key("empty").begin_object().end_object();
  w.key("list").begin_array().value(1).value("two").begin_array().end_array().null().end_array();
  w.key("stored").raw(R"({"a":[1,2]})");
  w.end_object();
  auto j = json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["name"], "ragd");
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["big"], std::int64_t{1} << 53);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 0.125);
  EXPECT_TRUE(j["nan"].is_null());
  EXPECT_EQ(j["yes"], true);
  EXPECT_TRUE(j["empty"].is_object() && j["empty"].empty());
  EXPECT_EQ(j["list"].dump(), R"([1,"two",[],null])");
  EXPECT_EQ(j["stored"]["a"][1], 2);
}

TEST(JsonWriter, DoublesRoundTrip) {
  for (double d : {0.0, -1.5, 0.1, 1e-300, 1e300, 123456.789, 0.3333333333333333}) {
    std::string out;
    JsonWriter(out).value(d);
    EXPECT_EQ(json::parse(out).get<double>(), d) << out;
  }
}

}  // namespace
}  // namespace ragd
