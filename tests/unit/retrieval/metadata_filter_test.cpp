#include "ragd/retrieval/metadata_filter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace ragd;
using namespace ragd::retrieval;
using nlohmann::json;

namespace {

MetadataFilter filter(const char* text) {
  auto f = MetadataFilter::parse(json::parse(text));
  EXPECT_TRUE(f) << text << ": " << (f ? "" : f.error().message);
  return f ? *f : MetadataFilter{};
}

std::string error_of(const char* text) {
  auto f = MetadataFilter::parse(json::parse(text));
  EXPECT_FALSE(f) << text;
  if (f) return {};
  EXPECT_EQ(f.error().code, Errc::bad_request);
  return f.error().message;
}

}  // namespace

TEST(MetadataFilter, EqualityComparesNumbersAsNumbersAndNeverAStringWithANumber) {
  auto f = filter(R"({"lang": "en", "year": 2020, "draft": false})");
  EXPECT_TRUE(f.matches(json::parse(R"({"lang": "en", "year": 2020.0, "draft": false, "extra": 1})")));
  EXPECT_FALSE(f.matches(json::parse(R"({"lang": "en", "year": "2020", "draft": false})")));
  EXPECT_FALSE(f.matches(json::parse(R"({"lang": "de", "year": 2020, "draft": false})")));
  EXPECT_FALSE(f.matches(json::parse(R"({"lang": "en", "year": 2020, "draft": 0})")));
}

TEST(MetadataFilter, AKeyTheDocumentLacksMatchesNothing) {
  auto f = filter(R"({"team": {"$in": ["core"]}})");
  EXPECT_FALSE(f.matches(json::parse(R"({"lang": "en"})")));
  EXPECT_FALSE(f.matches(json::object()));
  EXPECT_FALSE(f.matches(json()));  // a document without metadata
  EXPECT_TRUE(MetadataFilter{}.matches(json()));  // no filter: everything
}

TEST(MetadataFilter, InAndRangesCombine) {
  auto f = filter(R"({"team": {"$in": ["core", "infra", 7]}, "year": {"$gte": 2020, "$lt": 2024}})");
  EXPECT_TRUE(f.matches(json::parse(R"({"team": "infra", "year": 2020})")));
  EXPECT_TRUE(f.matches(json::parse(R"({"team": 7, "year": 2023.5})")));
  EXPECT_FALSE(f.matches(json::parse(R"({"team": "web", "year": 2021})")));
  EXPECT_FALSE(f.matches(json::parse(R"({"team": "core", "year": 2024})")));
  EXPECT_FALSE(f.matches(json::parse(R"({"team": "core", "year": "2021"})")));  // ranges are numeric
  auto open = filter(R"({"score": {"$gt": 0.5}})");
  EXPECT_TRUE(open.matches(json::parse(R"({"score": 0.51})")));
  EXPECT_FALSE(open.matches(json::parse(R"({"score": 0.5})")));
  auto closed = filter(R"({"score": {"$lte": 0.5}})");
  EXPECT_TRUE(closed.matches(json::parse(R"({"score": 0.5})")));
}

TEST(MetadataFilter, AMalformedFilterIsABadRequestNamingTheProblem) {
  EXPECT_NE(error_of(R"([1, 2])").find("'filter' must be an object"), std::string::npos);
  EXPECT_NE(error_of(R"({"year": {"$gt": "2020"}})").find("'filter.year.$gt' must be a number"), std::string::npos);
  EXPECT_NE(error_of(R"({"year": {"$regex": "20.*"}})").find("unknown operator '$regex' in 'filter.year'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"team": {"$in": []}})").find("'filter.team.$in' must be an array"), std::string::npos);
  EXPECT_NE(error_of(R"({"team": {"$in": "core"}})").find("'filter.team.$in' must be an array"), std::string::npos);
  EXPECT_NE(error_of(R"({"team": {"$in": [{"a": 1}]}})").find("'filter.team.$in' must hold only"), std::string::npos);
  EXPECT_NE(error_of(R"({"team": {}})").find("at least one operator"), std::string::npos);
  EXPECT_NE(error_of(R"({"team": null})").find("'filter.team' must be"), std::string::npos);
  EXPECT_NE(error_of(R"({"team": [1]})").find("'filter.team' must be"), std::string::npos);
  EXPECT_NE(error_of(R"({"$and": [{"a": 1}]})").find("not operators"), std::string::npos);
  json many = json::object();
  for (int i = 0; i < 17; ++i) many["k" + std::to_string(i)] = i;
  auto f = MetadataFilter::parse(many);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("more than 16 keys"), std::string::npos);
}

TEST(MetadataFilter, ParsedMetadataFieldsMatchAsTheJsonDoes) {
  auto f = filter(R"({"lang": "en", "year": {"$gte": 2020}})");
  EXPECT_TRUE(f.matches(MetadataFields::parse(R"({"year":2021,"lang":"en"})")));
  EXPECT_FALSE(f.matches(MetadataFields::parse(R"({"year":"2021","lang":"en"})")));
  EXPECT_FALSE(f.matches(MetadataFields::parse("")));
  EXPECT_FALSE(f.matches(MetadataFields::parse("not json")));
  EXPECT_TRUE(MetadataFilter{}.matches(MetadataFields::parse("")));
}

TEST(MetadataFilter, CanonicalTextIsEqualForEqualFiltersAndDiffersOtherwise) {
  EXPECT_EQ(filter(R"({"a": {"$in": ["x", "y", "x"]}, "n": 2})").canonical(),
            filter(R"({"n": 2.0, "a": {"$in": ["y", "x"]}})").canonical());
  EXPECT_NE(filter(R"({"n": 2})").canonical(), filter(R"({"n": "2"})").canonical());
  EXPECT_NE(filter(R"({"n": {"$gt": 2}})").canonical(), filter(R"({"n": {"$gte": 2}})").canonical());
  EXPECT_NE(filter(R"({"a": "b=c"})").canonical(), filter(R"({"a": "b", "c": ""})").canonical());
  EXPECT_EQ(filter("{}").canonical(), "");
}
