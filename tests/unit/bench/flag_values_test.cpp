#include "ragbench/flag_values.hpp"

#include <gtest/gtest.h>

using namespace ragd::bench;
using std::chrono::milliseconds;

TEST(ParseDuration, ReadsABareNumberAsSeconds) {
  EXPECT_EQ(parse_duration("90").value(), milliseconds(90000));
  EXPECT_EQ(parse_duration("0").value(), milliseconds(0));
  EXPECT_EQ(parse_duration("2.5").value(), milliseconds(2500));
}

TEST(ParseDuration, ReadsUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("10s").value(), milliseconds(10000));
  EXPECT_EQ(parse_duration("5m").value(), milliseconds(300000));
  EXPECT_EQ(parse_duration("1h").value(), milliseconds(3600000));
  EXPECT_EQ(parse_duration("250ms").value(), milliseconds(250));
  EXPECT_EQ(parse_duration("1h30m").value(), milliseconds(5400000));
  EXPECT_EQ(parse_duration("1m30s500ms").value(), milliseconds(90500));
}

TEST(ParseDuration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "s", "-5s", "10x", "1h30", "30s1m", "1s1s", "ten", "1.2.3s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(FormatDuration, RoundTripsThroughTheParser) {
  for (auto ms : {milliseconds(250), milliseconds(10000), milliseconds(5400000), milliseconds(3723000)}) {
    EXPECT_EQ(parse_duration(format_duration(ms)).value(), ms) << format_duration(ms);
  }
  EXPECT_EQ(format_duration(milliseconds(3723000)), "1h2m3s");
}

TEST(ParseLists, ReadPositiveNumbersAndRejectTheRest) {
  EXPECT_EQ(parse_int_list("50,100, 200").value(), (std::vector<int>{50, 100, 200}));
  EXPECT_FALSE(parse_int_list("50,,100").has_value());
  EXPECT_FALSE(parse_int_list("0").has_value());
  EXPECT_FALSE(parse_int_list("5x").has_value());
  EXPECT_EQ(parse_double_list("500,1.5e3").value(), (std::vector<double>{500, 1500}));
  EXPECT_FALSE(parse_double_list("-1").has_value());
  EXPECT_EQ(split_words(" ragd, ragd-worker ,"), (std::vector<std::string>{"ragd", "ragd-worker"}));
}

TEST(ParseUrl, SplitsHostPortAndPath) {
  auto u = parse_url("http://127.0.0.1:8080").value();
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.path, "");
  EXPECT_EQ(u.host_header(), "127.0.0.1:8080");
  auto v = parse_url("http://[::1]:9000/healthz").value();
  EXPECT_EQ(v.host, "::1");
  EXPECT_EQ(v.path, "/healthz");
  EXPECT_EQ(v.host_header(), "[::1]:9000");
  EXPECT_EQ(parse_url("http://localhost/").value().port, 80);
}

TEST(ParseUrl, RefusesOtherSchemesAndBadPorts) {
  for (const char* bad : {"https://x", "ftp://x", "127.0.0.1:8080", "http://", "http://x:0", "http://x:70000",
                          "http://x:abc", "http://u:p@x:80"}) {
    EXPECT_FALSE(parse_url(bad).has_value()) << bad;
  }
}
