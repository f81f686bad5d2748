#include "ragd/core/config_fields.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

namespace ragd {
namespace {

struct Limit {
  int per_second = 0;
};

struct Item {
  std::string name;
  std::optional<Limit> limit;
};

struct Sample {
  std::string url = "http://default";
  int threads = 2;
  std::size_t bytes = 1024;
  bool on = false;
  double ratio = 0.5;
  std::vector<Item> items;
};

void describe(ConfigFields& f, Limit& l) {
  f.field("per_second", l.per_second);
  f.require(l.per_second >= 0, "per_second", "must not be negative");
}

void describe(ConfigFields& f, Item& i) {
  f.field("name", i.name);
  f.section("limit", [&](ConfigFields& s) {
    if (s.pass() == ConfigFields::Pass::read && !i.limit) i.limit.emplace();
    if (i.limit) describe(s, *i.limit);
  });
}

void describe(ConfigFields& f, Sample& c) {
  f.section("net", [&](ConfigFields& s) {
    s.field("url", c.url, "RAGD_TEST_URL");
    s.field("threads", c.threads, "RAGD_TEST_THREADS");
    s.field("bytes", c.bytes);
    s.check(c.threads >= 1 && c.threads <= 8, "threads", "must be 1..8");
  });
  f.field("on", c.on, "RAGD_TEST_ON");
  f.field("ratio", c.ratio);
  f.list_of("items", c.items, [](ConfigFields& s, Item& i) { describe(s, i); });
}

DescribeConfig of(Sample& c) {
  return [&c](ConfigFields& f) { describe(f, c); };
}

TEST(ConfigFields, OneDescriptionReadsTheFileWithNestedSectionsAndLists) {
  Sample c;
  auto r = read_config(R"({
    // comments are allowed
    "net": {"url": "http://x", "threads": 4, "bytes": 10},
    "on": true, "ratio": 2,
    "items": [{"name": "a"}, {"name": "b", "limit": {"per_second": 5}}]
  })", of(c));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.url, "http://x");
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.bytes, 10u);
  EXPECT_TRUE(c.on);
  EXPECT_EQ(c.ratio, 2.0);
  ASSERT_EQ(c.items.size(), 2u);
  EXPECT_FALSE(c.items[0].limit.has_value()) << "an absent optional section stays absent";
  ASSERT_TRUE(c.items[1].limit.has_value());
  EXPECT_EQ(c.items[1].limit->per_second, 5);
}

TEST(ConfigFields, ReadingRejectsUnknownKeysWrongTypesAndNegativeSizesByPath) {
  Sample c;
  auto unknown = read_config(R"({"net": {"urll": "x"}})", of(c));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "unknown key 'net.urll'");
  auto type = read_config(R"({"net": {"threads": "four"}})", of(c));
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().message, "'net.threads' must be an integer");
  auto negative = read_config(R"({"net": {"bytes": -1}})", of(c));
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message, "'net.bytes' must not be negative");
  auto in_list = read_config(R"({"items": [{"name": "a", "limit": {"per_second": -1}}]})", of(c));
  ASSERT_FALSE(in_list);
  EXPECT_EQ(in_list.error().message, "'items[0].limit.per_second' must not be negative")
      << "a require() fails while reading, naming the element";
  auto json = read_config(R"({"net": )", of(c));
  ASSERT_FALSE(json);
  EXPECT_NE(json.error().message.find("not valid JSON"), std::string::npos);
}

TEST(ConfigFields, ValidationChecksConstraintsAfterReadingAndNamesThePath) {
  Sample c;
  ASSERT_TRUE(read_config(R"({"net": {"threads": 9}})", of(c)));
  auto v = validate_config(of(c));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, "'net.threads' must be 1..8");
  c.threads = 8;
  EXPECT_TRUE(validate_config(of(c)));
}

TEST(ConfigFields, EnvironmentVariablesOverrideTheFieldsThatNameThem) {
  Sample c;
  ::setenv("RAGD_TEST_URL", "http://env", 1);
  ::setenv("RAGD_TEST_THREADS", "7", 1);
  ::setenv("RAGD_TEST_ON", "on", 1);
  auto r = apply_config_env(of(c));
  ::setenv("RAGD_TEST_THREADS", "seven", 1);
  auto bad = apply_config_env(of(c));
  ::setenv("RAGD_TEST_THREADS", "", 1);
  ::setenv("RAGD_TEST_ON", "maybe", 1);
  auto bad_bool = apply_config_env(of(c));
  ::unsetenv("RAGD_TEST_URL");
  ::unsetenv("RAGD_TEST_THREADS");
  ::unsetenv("RAGD_TEST_ON");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.url, "http://env");
  EXPECT_EQ(c.threads, 7);
  EXPECT_TRUE(c.on);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "environment variable RAGD_TEST_THREADS must be an integer, got 'seven'");
  ASSERT_FALSE(bad_bool);
  EXPECT_NE(bad_bool.error().message.find("RAGD_TEST_ON"), std::string::npos);
}

TEST(ConfigFields, ListsTheEnvironmentVariablesWithTheKeysTheyOverride) {
  Sample c;
  const auto vars = config_env_variables(of(c));
  ASSERT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars[0].name, "RAGD_TEST_URL");
  EXPECT_EQ(vars[0].key, "net.url");
  EXPECT_EQ(vars[1].name, "RAGD_TEST_THREADS");
  EXPECT_EQ(vars[1].key, "net.threads");
  EXPECT_EQ(vars[2].name, "RAGD_TEST_ON");
  EXPECT_EQ(vars[2].key, "on");
  const std::string help = env_help(vars);
  EXPECT_NE(help.find("  RAGD_TEST_THREADS               net.threads\n"), std::string::npos) << help;
}

}  // namespace
}  // namespace ragd
