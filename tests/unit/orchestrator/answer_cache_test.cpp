#include "ragd/orchestrator/answer_cache.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>

using namespace ragd;
using namespace ragd::orchestrator;

TEST(AnswerCache, EntryValuesKeepTheAnswerBesideItsRenderedFields) {
  const std::string answer = "Bees make honey.\n12\n{";
  const std::string body = R"({"answer":"Bees make honey.\n12\n{","sources":[]})";
  const std::string value = AnswerCache::encode_value(answer, body);
  auto parts = AnswerCache::decode_value(value);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->first, answer);
  EXPECT_EQ(parts->second, body);

  const std::string empty_value = AnswerCache::encode_value("", "{}");
  auto empty = AnswerCache::decode_value(empty_value);  // views into empty_value
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->first, "");
  EXPECT_EQ(empty->second, "{}");
}

TEST(AnswerCache, RejectsValuesItDidNotWrite) {
  for (std::string_view bad : {"", "{}", "5\nabc{}", "x\n{}", "3\nabc", "3\nabc{", "99999999999999999999999\n{}",
                               "2\nab[]"}) {
    EXPECT_FALSE(AnswerCache::decode_value(bad)) << bad;
  }
}

TEST(AnswerCache, KeysDifferByTenantIndexVersionModelAndHistory) {
  Computation c;
  c.query = "What is ragd?";
  c.tenant = "a";
  c.top_k = 4;
  const std::string base = AnswerCache::key(c, 1, "m");
  EXPECT_EQ(base.size(), 64u);
  c.query = "what is RAGD";
  EXPECT_EQ(AnswerCache::key(c, 1, "m"), base);
  EXPECT_NE(AnswerCache::key(c, 2, "m"), base);
  EXPECT_NE(AnswerCache::key(c, 1, "n"), base);
  Computation other = c;
  other.tenant = "b";
  EXPECT_NE(AnswerCache::key(other, 1, "m"), base);
  other = c;
  other.prompt.history = {{"q", "a"}};
  EXPECT_NE(AnswerCache::key(other, 1, "m"), base);
  other = c;
  other.prompt.profile = {{"tier", "pro"}};
  EXPECT_NE(AnswerCache::key(other, 1, "m"), base);
}

TEST(AnswerCache, KeysDifferByFilterAndAreEqualForFiltersWrittenDifferently) {
  auto filter = [](const char* text) {
    auto f = retrieval::MetadataFilter::parse(nlohmann::json::parse(text));
    EXPECT_TRUE(f) << text;
    return std::make_shared<const retrieval::MetadataFilter>(f ? *f : retrieval::MetadataFilter{});
  };
  Computation c;
  c.query = "What is ragd?";
  c.tenant = "a";
  c.top_k = 4;
  const std::string unfiltered = AnswerCache::key(c, 1, "m");
  c.filter = filter(R"({"lang": "en", "year": {"$in": [2020, 2021]}})");
  const std::string english = AnswerCache::key(c, 1, "m");
  EXPECT_NE(english, unfiltered);
  c.filter = filter(R"({"lang": "fr", "year": {"$in": [2020, 2021]}})");
  EXPECT_NE(AnswerCache::key(c, 1, "m"), english);
  c.filter = filter(R"({"year": {"$in": [2021, 2020.0]}, "lang": "en"})");
  EXPECT_EQ(AnswerCache::key(c, 1, "m"), english) << "the same filter in another order";
}
