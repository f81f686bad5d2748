#include "ragd/core/json_reader.hpp"

#include "ragd/core/json_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include <random>

namespace ragd {
namespace {

JsonValue parse_ok(std::string_view text) {
  auto r = parse_json(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r ? std::move(*r) : JsonValue();
}

TEST(JsonReader, ReadsEveryKindOfValue) {
  JsonValue v = parse_ok(R"( {"s":"x","i":-42,"big":9007199254740993,"d":1.5e3,"t":true,"f":false,
                            "n":null,"a":[1,"two",[]],"o":{}} )");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.find("s")->as_string(), "x");
  EXPECT_EQ(v.find("i")->as_integer(), -42);
  EXPECT_EQ(v.find("big")->as_integer(), 9007199254740993);  // exact, not through a double
  EXPECT_FALSE(v.find("d")->is_integer());
  EXPECT_DOUBLE_EQ(v.find("d")->as_double(), 1500.0);
  EXPECT_TRUE(v.find("t")->as_bool());
  EXPECT_FALSE(v.find("f")->as_bool());
  EXPECT_TRUE(v.find("n")->is_null());
  ASSERT_EQ(v.find("a")->as_array().size(), 3u);
  EXPECT_EQ(v.find("a")->as_array()[1].as_string(), "two");
  EXPECT_TRUE(v.find("a")->as_array()[2].is_array());
  EXPECT_TRUE(v.find("o")->is_object());
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(v.find("s")->find("x"), nullptr);  // not an object
}

TEST(JsonReader, ANumberBelowTheSmallestDoubleIsZeroNotAnError) {
  // Found by fuzz_json_reader: nlohmann (and strtod) read 5e-352 as 0; only overflow
  // (1e999, in RejectsWhatIsNotJson) is out of range.
  EXPECT_EQ(parse_ok("5e-352").as_double(), 0.0);
  EXPECT_EQ(parse_ok("-5e-352").as_double(), 0.0);
  EXPECT_TRUE(std::signbit(parse_ok("-5e-352").as_double()));
}

TEST(JsonReader, DecodesEscapesAndSurrogatePairs) {
  JsonValue v = parse_ok(R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20ac \ud83d\ude42 \u0000.")");
  EXPECT_EQ(v.as_string(), std::string("q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 ") +
                               std::string(1, '\0') + ".");
}

TEST(JsonReader, LastDuplicateMemberWins) {
  JsonValue v = parse_ok(R"({"k":1,"k":2})");
  EXPECT_EQ(v.find("k")->as_integer(), 2);
}

TEST(JsonReader, RejectsWhatIsNotJson) {
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "{\"a\" 1}", "[1 2]", "01", "1.", ".5",
                          "-", "1e", "+1", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
                          "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"", "\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"",
                          "1 2", "{} x", "1e999", "NaN", "[\"a\":1]"}) {
    auto r = parse_json(bad);
    EXPECT_FALSE(r) << "accepted: " << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::bad_request);
      EXPECT_NE(r.error().message.find("at byte"), std::string::npos) << r.error().message;
    }
  }
}

TEST(JsonReader, RefusesNestingPastTheLimitWithoutRecursingIntoIt) {
  std::string ok(static_cast<std::size_t>(kMaxJsonDepth), '[');
  ok += std::string(static_cast<std::size_t>(kMaxJsonDepth), ']');
  EXPECT_TRUE(parse_json(ok));
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto r = parse_json(deep);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);
}

// What JsonWriter writes, the reader reads back identically, and agrees with nlohmann.
TEST(JsonReader, RoundTripsJsonWriterOutputOnRandomStrings) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(0, 40);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int n = len(rng);
    for (int k = 0; k < n; ++k) s += static_cast<char>(byte(rng));
    std::string out;
    JsonWriter w(out);
    w.begin_object().member("s", s).member("n", static_cast<std::int64_t>(round)).end_object();
    auto mine = parse_json(out);
    ASSERT_TRUE(mine) << mine.error().message;
    auto theirs = nlohmann::json::parse(out);
    EXPECT_EQ(mine->find("s")->as_string(), theirs["s"].get<std::string>());
    EXPECT_EQ(mine->find("n")->as_integer(), round);
  }
}

// Strings of every length around the scanner's blocks, made of one kind of character (plain,
// escaped quotes and backslashes, newlines, multi-byte characters, control bytes), must
// decode as nlohmann decodes them, whether escaped as nlohmann writes them or with every
// character as a \u escape (surrogate pairs included).
TEST(JsonReader, DecodesStringsOfEveryLengthWhateverTheyHold) {
  const std::vector<std::string> fills = {"a", "\"", "\\", "\n", "\xc3\xa9", "\xf0\x9f\x98\x80", "\x01"};
  for (const auto& fill : fills) {
    for (std::size_t n : {0, 1, 2, 14, 15, 16, 17, 40, 300, 3000}) {
      std::string s;
      for (std::size_t k = 0; k < n; ++k) s += (k % 5 == 4) ? std::string("z") : fill;
      const std::string plain_doc = R"({"k":)" + nlohmann::json(s).dump() + R"(,"after":"x"})";
      const std::string ascii_doc = R"({"k":)" + nlohmann::json(s).dump(-1, ' ', true) + R"(,"after":"x"})";
      for (const auto& doc : {plain_doc, ascii_doc}) {
        auto v = parse_json(doc);
        ASSERT_TRUE(v) << v.error().message << " in " << doc;
        EXPECT_EQ(v->find("k")->as_string(), s) << doc;
        EXPECT_EQ(v->find("after")->as_string(), "x");
      }
    }
  }
  // A string that never ends is an error, however long it is.
  for (std::size_t n : {0, 5, 15, 16, 17, 100}) {
    EXPECT_FALSE(parse_json("\"" + std::string(n, 'a'))) << n;
    EXPECT_FALSE(parse_json("\"" + std::string(n, 'a') + "\\\"")) << n;
  }
}

// 3,000 copies of `doc`, each cut short at a random byte (one in three) or with one random
// byte replaced.
std::vector<std::string> mangled_copies(const std::string& doc, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pos(0, doc.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::string> out;
  for (int round = 0; round < 3000; ++round) {
    std::string s = doc;
    if (round % 3 == 0) {
      s.resize(pos(rng));
    } else {
      s[pos(rng)] = static_cast<char>(byte(rng));
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Random bytes and random truncations of valid documents: an answer or an error, never a
// crash, and the same verdict as nlohmann.
TEST(JsonReader, AgreesWithNlohmannOnMangledDocuments) {
  const std::string doc =
      R"({"id":"j1","messages":[{"role":"user","content":"caf\u00e9 \"q\""}],"score":-0.25e-2,"n":[true,false,null]})";
  for (const std::string& s : mangled_copies(doc, 11)) {
    const bool mine = static_cast<bool>(parse_json(s));
    const bool theirs = !nlohmann::json::parse(s, nullptr, false).is_discarded();
    EXPECT_EQ(mine, theirs) << s;
  }
}

JsonValue parse_undecoded(std::string_view text, std::string_view member, std::string_view& member_text) {
  auto r = parse_json(text, member, member_text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r ? std::move(*r) : JsonValue();
}

TEST(JsonReader, AnUndecodedMemberKeepsItsShapeAndTextButNotItsStrings) {
  const std::string doc =
      R"({"a":"x\n","m" : [ {"k\u0041":"v\"w","n":{"deep":"s"}}, 1, true, null, "top" ] ,"z":{"m":"inner"}})";
  std::string_view text;
  JsonValue v = parse_undecoded(doc, "m", text);
  EXPECT_EQ(text, R"([ {"k\u0041":"v\"w","n":{"deep":"s"}}, 1, true, null, "top" ])");
  EXPECT_EQ(text.data(), doc.data() + doc.find('['));  // a view of the input
  EXPECT_EQ(v.find("a")->as_string(), "x\n");
  EXPECT_EQ(v.find("z")->find("m")->as_string(), "inner");  // only the top-level member
  const JsonValue::Array& m = v.find("m")->as_array();
  ASSERT_EQ(m.size(), 5u);
  ASSERT_NE(m[0].find("kA"), nullptr);  // member names are decoded
  EXPECT_TRUE(m[0].find("kA")->is_string());
  EXPECT_EQ(m[0].find("kA")->as_string(), "");
  EXPECT_EQ(m[0].find("n")->find("deep")->as_string(), "");
  EXPECT_EQ(m[1].as_integer(), 1);
  EXPECT_TRUE(m[2].as_bool());
  EXPECT_TRUE(m[3].is_null());
  EXPECT_EQ(m[4].as_string(), "");

  // A string member; the last of repeated members; an absent member.
  v = parse_undecoded(R"({"m":"first","m":"se\u0063ond"})", "m", text);
  EXPECT_EQ(text, R"("se\u0063ond")");
  EXPECT_EQ(v.find("m")->as_string(), "");
  v = parse_undecoded(R"({"a":{"m":[1]}})", "m", text);
  EXPECT_TRUE(text.empty());
  v = parse_undecoded(R"(["m"])", "m", text);
  EXPECT_TRUE(text.empty());
}

// Whether a document is accepted does not depend on which member is left undecoded, and the
// member's text, parsed on its own, reads as the usual parse reads that member.
TEST(JsonReader, AnUndecodedMemberIsCheckedAsStrictlyAsTheRest) {
  // Strings that are not valid JSON, in a member's value, nested, and as a member name.
  const std::vector<std::string> bad_strings = {R"(\x)", R"(\u12)", R"(\ud800)", R"(\udc00)", R"(\ud800\u0041)",
                                                "a\nb", "\xff", "\xc3", "\xed\xa0\x80", "\x01"};
  for (const auto& bad : bad_strings) {
    for (const std::string& doc : {R"({"m":[{"c":")" + bad + R"("}]})", R"({"m":")" + bad + R"("})",
                                   R"({"m":{")" + bad + R"(":1}})", R"({"m":[")" + bad + R"(")"}) {
      std::string_view text = "untouched";
      EXPECT_FALSE(parse_json(doc)) << doc;
      auto r = parse_json(doc, "m", text);
      EXPECT_FALSE(r) << doc;
      EXPECT_TRUE(text.empty());
      if (!r) {
        EXPECT_EQ(r.error().message, parse_json(doc).error().message);
      }
    }
  }
  // Mangled copies of a job-like document: accepted exactly when the usual parse accepts them.
  const std::string doc =
      R"({"id":"j1","messages":[{"role":"user","content":"caf\u00e9 \"q\"\n\ud83d\ude42"}],"score":-0.25e-2})";
  for (const std::string& s : mangled_copies(doc, 5)) {
    std::string_view text;
    auto usual = parse_json(s);
    auto undecoded = parse_json(s, "messages", text);
    ASSERT_EQ(static_cast<bool>(usual), static_cast<bool>(undecoded)) << s;
    if (!usual) continue;
    const JsonValue* messages = usual->find("messages");
    if (messages == nullptr) {
      EXPECT_TRUE(text.empty()) << s;
      continue;
    }
    // The text is the member's value: nlohmann reads it as the usual parse does.
    const auto theirs = nlohmann::json::parse(text, nullptr, false);
    ASSERT_FALSE(theirs.is_discarded()) << text;
    if (messages->is_array() && !messages->as_array().empty() && messages->as_array()[0].is_object()) {
      const JsonValue* content = messages->as_array()[0].find("content");
      if (content != nullptr && content->is_string()) {
        EXPECT_EQ(theirs[0]["content"].get<std::string>(), content->as_string()) << s;
      }
    }
  }
}

}  // namespace
}  // namespace ragd

namespace ragd {
namespace {

// The writer and the reader scan plain text sixteen, then eight bytes at a time: a byte that
// needs attention must be found at every offset within and across those blocks.
TEST(JsonReader, FindsSpecialBytesAtEveryOffsetOfTheWordScan) {
  const std::string base = "abcdefghijklmnopqrstuvwxyz0123456789";
  const std::vector<std::string> specials = {"\"", "\\", "\n", std::string(1, '\x1f'), std::string(1, '\0'),
                                             "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x99\x82", "~", " "};
  for (std::size_t pos = 0; pos <= base.size(); ++pos) {
    for (const auto& sp : specials) {
      const std::string s = base.substr(0, pos) + sp + base.substr(pos);
      std::string out;
      append_json_string(out, s);
      EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), s) << pos;
      auto back = parse_json(nlohmann::json(s).dump());
      ASSERT_TRUE(back) << back.error().message;
      EXPECT_EQ(back->as_string(), s) << pos;
    }
  }
  // Invalid UTF-8 at every offset is replaced by the writer and refused by the reader.
  for (std::size_t pos = 0; pos <= base.size(); ++pos) {
    const std::string s = base.substr(0, pos) + "\xff" + base.substr(pos);
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(),
              base.substr(0, pos) + "\xef\xbf\xbd" + base.substr(pos));
    EXPECT_FALSE(parse_json("\"" + s + "\""));
  }
}

}  // namespace
}  // namespace ragd
