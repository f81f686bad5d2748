#include "ragd/log/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace ragd::log {
namespace {

// One logger over a string stream, formatted as setup_logging() formats.
struct CapturedLog {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger;

  explicit CapturedLog(bool json) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    logger = std::make_shared<spdlog::logger>("ragd-test", sink);
    logger->set_formatter(make_formatter(json));
  }
  std::string take() {
    logger->flush();
    std::string s = out.str();
    out.str({});
    return s;
  }
};

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

TEST(TraceScope, TagsTextLinesWhileItLives) {
  CapturedLog log(false);
  {
    TraceScope traced(kTrace);
    log.logger->info("req_id=r1 status=200");
  }
  EXPECT_NE(log.take().find("req_id=r1 status=200 trace_id=4bf92f3577b34da6a3ce929d0e0e4736\n"), std::string::npos);
  log.logger->info("req_id=r2 status=200");
  EXPECT_EQ(log.take().find("trace_id"), std::string::npos);
}

TEST(TraceScope, NestedScopesRestoreTheOuterId) {
  CapturedLog log(false);
  TraceScope outer("aaaa");
  {
    TraceScope inner("bbbb");
    log.logger->info("inner");
  }
  log.logger->info("outer");
  const std::string lines = log.take();
  EXPECT_NE(lines.find("inner trace_id=bbbb\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("outer trace_id=aaaa\n"), std::string::npos) << lines;
}

TEST(JsonLines, CarryTheTraceIdAsAMemberAndParseWhateverTheMessageHolds) {
  CapturedLog log(true);
  {
    TraceScope traced(kTrace);
    log.logger->warn("route=\"/v1/query\" says \\ and\ttab\nnewline \x01");
  }
  log.logger->info("no trace");
  std::istringstream lines(log.take());
  std::string first, second;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  auto a = nlohmann::json::parse(first, nullptr, false);
  ASSERT_TRUE(a.is_object()) << first;
  EXPECT_EQ(a["trace_id"], kTrace);
  EXPECT_EQ(a["msg"], "route=\"/v1/query\" says \\ and\ttab\nnewline \x01");
  EXPECT_EQ(a["level"], "warning");
  EXPECT_EQ(a["proc"], "ragd-test");
  auto b = nlohmann::json::parse(second, nullptr, false);
  ASSERT_TRUE(b.is_object()) << second;
  EXPECT_FALSE(b.contains("trace_id"));
  EXPECT_EQ(b["msg"], "no trace");
}

}  // namespace
}  // namespace ragd::log
