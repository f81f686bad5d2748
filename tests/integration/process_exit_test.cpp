// The tests' Process teardown: a child (ragd, ragd-worker, fake-llm, redis-server) that does
// not exit with status 0 fails the running test, with the end of its log. This is how a
// sanitizer's report in a child (ASan and UBSan exit 1 after their report with
// halt_on_error=1, LeakSanitizer 23) fails the test that started it. The children here are
// shell one-liners that end the way such a child ends.
#include "test_support.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <csignal>

using namespace ragd::test;
using namespace std::chrono_literals;

namespace {

// Starts `script` under sh with its output in `dir`/child.log and waits until it has ended
// on its own (or 10 s pass), leaving the status for teardown to judge.
void run_to_end(const TempDir& dir, const std::string& script) {
  Process child({"sh", "-c", script}, {}, dir.path() + "/child.log");
  wait_until([&] { return !child.alive(); }, 10s);
}

}  // namespace

TEST(ProcessTeardown, AChildThatExitsZeroPasses) {
  TempDir dir;
  run_to_end(dir, "echo fine; exit 0");
}

TEST(ProcessTeardown, AnAddressSanitizerReportInAChildFailsTheTestWithTheReport) {
  TempDir dir;
  EXPECT_NONFATAL_FAILURE(
      run_to_end(dir, "echo '==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1' >&2; exit 1"),
      "AddressSanitizer: heap-use-after-free");
}

TEST(ProcessTeardown, ALeakReportAtExitFailsTheTest) {
  TempDir dir;
  EXPECT_NONFATAL_FAILURE(
      run_to_end(dir, "echo '==1==ERROR: LeakSanitizer: detected memory leaks' >&2; exit 23"), "status 23");
}

TEST(ProcessTeardown, AChildKilledByASignalFailsTheTest) {
  TempDir dir;
  EXPECT_NONFATAL_FAILURE(run_to_end(dir, "kill -s ABRT $$"), "(signal 6)");
}

TEST(ProcessTeardown, AChildThatFailsOnSigtermFailsTheTest) {
  TempDir dir;
  EXPECT_NONFATAL_FAILURE(
      {
        Process child({"sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"}, {},
                      dir.path() + "/child.log");
        wait_until([&] { return child.log().find("ready") != std::string::npos; }, 10s);
      },
      "status 3");
}

TEST(ProcessTeardown, AStatusTheTestTookIsTheTestsToJudge) {
  TempDir dir;
  Process child({"sh", "-c", "exit 7"}, {}, dir.path() + "/child.log");
  EXPECT_EQ(child.wait(10s), 7);
}

TEST(ProcessTeardown, AChildTheTestKilledWithSigkillIsNotJudged) {
  TempDir dir;
  Process child({"sh", "-c", "echo ready; while :; do sleep 0.05; done"}, {}, dir.path() + "/child.log");
  ASSERT_TRUE(wait_until([&] { return child.log().find("ready") != std::string::npos; }, 10s));
  child.signal(SIGKILL);
}
