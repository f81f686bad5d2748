#include "ragd/core/trace.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

using namespace ragd;

namespace {

// The example of the W3C Trace Context recommendation, section 3.2.
constexpr const char* kExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST(Traceparent, ParsesTheSpecExample) {
  auto t = parse_traceparent(kExample);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->span_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, 1);
  EXPECT_EQ(t->traceparent(), kExample);
}

TEST(Traceparent, RejectsValuesThatBreakTheSpec) {
  const char* bad[] = {
      "",
      "garbage",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // upper case
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // forbidden version
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // version 00 is exactly 55
      "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",   // dash in the wrong place
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   // flags not hex
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version not hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",      // too short
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // later version: '-' after 55
  };
  for (const char* v : bad) EXPECT_FALSE(parse_traceparent(v)) << v;
}

TEST(Traceparent, AcceptsALaterVersionWithMoreFields) {
  auto t = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Traceparent, ContinuesAValidTraceInANewSpan) {
  const TraceContext t = continue_trace(kExample);
  EXPECT_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(t.span_id, "00f067aa0ba902b7");
  EXPECT_EQ(t.flags, 1);
  EXPECT_TRUE(parse_traceparent(t.traceparent()));
}

TEST(Traceparent, ReplacesAMissingOrMalformedHeaderWithANewTrace) {
  for (const char* incoming : {"", "00-XYZ-1-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}) {
    const TraceContext t = continue_trace(incoming);
    auto parsed = parse_traceparent(t.traceparent());
    ASSERT_TRUE(parsed) << t.traceparent();
    EXPECT_EQ(parsed->trace_id, t.trace_id);
    EXPECT_EQ(t.flags, 0);
  }
  EXPECT_NE(continue_trace("").trace_id, continue_trace("").trace_id);
}

TEST(Traceparent, NewIdsVaryInEveryDigit) {
  // 64 new traces: a digit position that never changes is one the generator does not fill.
  std::vector<std::set<char>> trace_digits(32), span_digits(16);
  for (int i = 0; i < 64; ++i) {
    const TraceContext t = new_trace();
    ASSERT_EQ(t.trace_id.size(), 32u);
    ASSERT_EQ(t.span_id.size(), 16u);
    for (std::size_t j = 0; j < 32; ++j) trace_digits[j].insert(t.trace_id[j]);
    for (std::size_t j = 0; j < 16; ++j) span_digits[j].insert(t.span_id[j]);
  }
  for (std::size_t j = 0; j < 32; ++j) EXPECT_GT(trace_digits[j].size(), 4u) << "trace id digit " << j;
  for (std::size_t j = 0; j < 16; ++j) EXPECT_GT(span_digits[j].size(), 4u) << "span id digit " << j;
}

TEST(Traceparent, AnEmptyContextWritesNothing) { EXPECT_EQ(TraceContext{}.traceparent(), ""); }
