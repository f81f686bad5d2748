// The binaries' command lines: --help, --version, and one clear line with exit code 2 for
// a bad flag or a bad config file.
#include "stack.hpp"

#include <sys/wait.h>

#include <cstdio>

using namespace ragd::test;

namespace {

struct Run {
  int code = -1;
  std::string output;
};

Run run(const std::string& cmd) {
  Run r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST(Cli, EveryBinaryAnswersHelpAndVersion) {
  for (const char* bin : {"ragd", "ragd-worker", "ragctl", "fake-llm"}) {
    auto help = run(bin_path(bin) + " --help");
    EXPECT_EQ(help.code, 0) << bin << ": " << help.output;
    EXPECT_NE(help.output.find("--"), std::string::npos) << bin;
    auto version = run(bin_path(bin) + " --version");
    EXPECT_EQ(version.code, 0) << bin;
    EXPECT_FALSE(version.output.empty()) << bin;
  }
}

TEST(Cli, ABadFlagIsOneLineAndExitCode2) {
  for (const char* bin : {"ragd", "ragd-worker", "ragctl"}) {
    auto r = run(bin_path(bin) + " --no-such-flag");
    EXPECT_EQ(r.code, 2) << bin << ": " << r.output;
    EXPECT_EQ(lines(r.output), 1u) << bin << ": " << r.output;
    EXPECT_NE(r.output.find("no-such-flag"), std::string::npos) << r.output;
  }
}

TEST(Cli, ABadConfigFileIsNamedAndExitCode2) {
  TempDir dir;
  std::string path = dir.path() + "/bad.json";
  std::ofstream(path) << R"({"server": {"listen": "127.0.0.1:1", "threds": 2}})";
  auto r = run(bin_path("ragd") + " --config " + path);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(lines(r.output), 1u) << r.output;
  EXPECT_NE(r.output.find("server.threds"), std::string::npos) << r.output;

  auto missing = run(bin_path("ragd") + " --config " + dir.path() + "/missing.json");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.output.find("missing.json"), std::string::npos);

  std::string wpath = dir.path() + "/worker.json";
  std::ofstream(wpath) << R"({"concurrency": "many"})";
  auto w = run(bin_path("ragd-worker") + " --config " + wpath);
  EXPECT_EQ(w.code, 2) << w.output;
  EXPECT_NE(w.output.find("concurrency"), std::string::npos) << w.output;
}

TEST(Cli, TheShippedConfigFilesAreValid) {
  auto r = run(bin_path("ragd") + " --check-config --config " + source_path("config/ragd.json"));
  EXPECT_EQ(r.code, 0) << r.output;
}

TEST(Cli, RagctlIngestsAFolderAndQueries) {
  Stack stack;
  ASSERT_TRUE(stack.wait_ready());
  std::string server = " --server http://127.0.0.1:" + std::to_string(stack.port());
  auto ingest = run(bin_path("ragctl") + " ingest " + source_path("tests/data/corpus") + server);
  ASSERT_EQ(ingest.code, 0) << ingest.output;
  EXPECT_NE(ingest.output.find("indexed 5 documents"), std::string::npos) << ingest.output;
  auto q = run(bin_path("ragctl") + " query 'What causes the tides?'" + server);
  ASSERT_EQ(q.code, 0) << q.output;
  EXPECT_NE(q.output.find("tides.md"), std::string::npos) << q.output;
  auto none = run(bin_path("ragctl") + " ingest /nonexistent-path" + server);
  EXPECT_EQ(none.code, 2);
}

TEST(Cli, RagctlShowsTheQueueAndRepairsDeadLetters) {
  StackOptions opts;
  opts.start_worker = false;
  Stack stack(opts);
  std::string redis = " --redis " + stack.redis().url();
  // A dead letter as a worker writes it.
  std::string job = R"({"id":"job-1","reply_to":"ragd:replies:x","deadline_unix_ms":1,"question":"why?","messages":[],"passages":[]})";
  std::string entry = stack.redis().cli({"XADD", "ragd:jobs:dead", "*", "job", job, "reason", "upstream_error: HTTP 500",
                                         "stream", "ragd:jobs"});
  ASSERT_FALSE(entry.empty());

  auto stats = run(bin_path("ragctl") + " queue stats --json" + redis);
  ASSERT_EQ(stats.code, 0) << stats.output;
  auto j = nlohmann::json::parse(stats.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << stats.output;
  EXPECT_EQ(j["dead_letters"], 1);
  EXPECT_EQ(j["streams"].size(), 3u);

  auto list = run(bin_path("ragctl") + " queue dead-letters list" + redis);
  ASSERT_EQ(list.code, 0) << list.output;
  EXPECT_NE(list.output.find("job-1"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("HTTP 500"), std::string::npos);

  auto replay = run(bin_path("ragctl") + " queue dead-letters replay " + entry + redis);
  ASSERT_EQ(replay.code, 0) << replay.output;
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs:dead"}), "0");
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs"}), "1");  // back in the queue, fresh deadline

  stack.redis().cli({"XADD", "ragd:jobs:dead", "*", "job", job, "reason", "x"});
  auto drop = run(bin_path("ragctl") + " queue dead-letters drop --all" + redis);
  ASSERT_EQ(drop.code, 0) << drop.output;
  EXPECT_EQ(stack.redis().cli({"XLEN", "ragd:jobs:dead"}), "0");
  EXPECT_EQ(run(bin_path("ragctl") + " queue dead-letters replay" + redis).code, 2);
}
