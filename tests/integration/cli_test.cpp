// The binaries' command lines: --help, --version, and one clear line with exit code 2 for
// a bad flag or a bad config file.
#include "stack.hpp"

#include <filesystem>
#include <fstream>

using namespace ragd::test;

namespace {

CommandResult run(const std::string& cmd) { return run_command(cmd); }

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

namespace {

std::int64_t embedding_inputs(FakeLlm& fake) {
  auto s = fake.stats();
  return s.is_object() ? s.value("embedding_inputs", std::int64_t{-1}) : -1;
}

}  // namespace

// An index built offline by ragctl with the server's remote embedder loads into ragd as is:
// no chunk is embedded again at start, and queries are answered from it.
TEST(Cli, RagctlBuildsASnapshotOfflineWithTheRemoteEmbedderThatRagdServesAsIs) {
  FakeLlm fake;  // 384-dimensional vectors
  TempDir dir;
  const std::string snapshot = dir.path() + "/index.snap";
  const std::string embedder = " --embed-url " + fake.base_url() + " --embed-model fake-embed --embed-dim 384";
  auto ingest = run(bin_path("ragctl") + " ingest " + source_path("tests/data/corpus") + " --snapshot " + snapshot +
                    embedder);
  ASSERT_EQ(ingest.code, 0) << ingest.output;
  EXPECT_NE(ingest.output.find("indexed 5 documents"), std::string::npos) << ingest.output;
  EXPECT_NE(ingest.output.find("openai/fake-embed/384"), std::string::npos) << ingest.output;
  const std::int64_t embedded = embedding_inputs(fake);
  EXPECT_GE(embedded, 5) << "every chunk is embedded by the service";

  StackOptions opts;
  opts.gateway_env = {{"RAGD_EMBED_BASE_URL", fake.base_url()}, {"RAGD_EMBED_DIM", "384"},
                      {"RAGD_EMBED_MODEL", "fake-embed"}};
  opts.gateway_config = {{"retrieval", {{"snapshot_path", snapshot}}}, {"cache", {{"enabled", false}}}};
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());
  const std::int64_t before_query = embedding_inputs(fake);
  EXPECT_EQ(before_query, embedded) << "ragd embedded the snapshot's chunks again";
  const std::string log = stack.gateway().log();
  EXPECT_NE(log.find("snapshot loaded"), std::string::npos) << log;
  EXPECT_EQ(log.find("re-embedding"), std::string::npos) << log;
  auto q = stack.post("/query", {{"query", "What causes the tides?"}});
  ASSERT_EQ(q.status, 200) << q.body;
  auto body = nlohmann::json::parse(q.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << q.body;
  EXPECT_EQ(body["sources"][0]["doc_id"], "tides.md") << q.body;
  EXPECT_EQ(embedding_inputs(fake), before_query + 1) << "the query is embedded by the service";

  // The same snapshot with another model would be re-embedded by this server: ragctl
  // records the model it used.
  auto other = run(bin_path("ragctl") + " ingest " + source_path("tests/data/corpus") + " --snapshot " + dir.path() +
                   "/other.snap --embed-url " + fake.base_url() + " --embed-model another-model --embed-dim 384");
  ASSERT_EQ(other.code, 0) << other.output;
  EXPECT_NE(other.output.find("openai/another-model/384"), std::string::npos) << other.output;

  // A server embeds with its own embedder: the flags are refused without --snapshot.
  auto refused = run(bin_path("ragctl") + " ingest " + source_path("tests/data/corpus") + embedder);
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("--snapshot"), std::string::npos) << refused.output;
}

// ragctl eval measures a remote embedding model, configured by flags or by ragd's
// RAGD_EMBED_* variables; a service that cannot be reached fails the run clearly.
TEST(Cli, RagctlEvalMeasuresARemoteEmbedder) {
  FakeLlm fake;
  TempDir data;
  {
    std::ofstream corpus(data.path() + "/corpus.jsonl");
    corpus << R"({"_id": "bees", "title": "Honey bees", "text": "Worker bees perform the waggle dance to show where flowers are."})"
           << "\n"
           << R"({"_id": "tides", "title": "Ocean tides", "text": "Tides are caused mainly by the gravitational pull of the Moon."})"
           << "\n"
           << R"({"_id": "chess", "title": "Chess", "text": "The Sicilian Defence answers 1.e4 with c5."})" << "\n";
    std::ofstream(data.path() + "/queries.jsonl") << R"({"_id": "q1", "text": "what pulls the tides"})" << "\n"
                                                  << R"({"_id": "q2", "text": "waggle dance of bees"})" << "\n";
    std::filesystem::create_directories(data.path() + "/qrels");
    std::ofstream(data.path() + "/qrels/test.tsv") << "query-id\tcorpus-id\tscore\nq1\ttides\t1\nq2\tbees\t1\n";
  }
  const std::string eval = bin_path("ragctl") + " eval --data " + data.path();
  auto by_env = run("RAGD_EMBED_BASE_URL=" + fake.base_url() + " RAGD_EMBED_MODEL=fake-embed RAGD_EMBED_DIM=384 " +
                    eval + " --modes dense,hybrid");
  ASSERT_EQ(by_env.code, 0) << by_env.output;
  EXPECT_NE(by_env.output.find("openai/fake-embed/384"), std::string::npos) << by_env.output;
  EXPECT_NE(by_env.output.find("dense"), std::string::npos) << by_env.output;
  // 3 chunks, then each of 2 queries in each of 2 modes.
  EXPECT_EQ(embedding_inputs(fake), 3 + 4) << by_env.output;

  auto by_flags = run(eval + " --modes dense --embed-url " + fake.base_url() +
                      " --embed-model fake-embed --embed-dim 384");
  ASSERT_EQ(by_flags.code, 0) << by_flags.output;
  EXPECT_EQ(embedding_inputs(fake), 7 + 3 + 2);

  const std::string closed = "http://127.0.0.1:" + std::to_string(free_port());
  auto down = run(eval + " --embed-url " + closed + " --embed-dim 384");
  EXPECT_EQ(down.code, 1) << down.output;
  EXPECT_NE(down.output.find("Couldn't connect"), std::string::npos) << down.output;
  EXPECT_NE(down.output.find(closed), std::string::npos) << "the operator is told where: " << down.output;

  auto bad_dim = run(eval + " --embed-url " + fake.base_url() + " --embed-dim many");
  EXPECT_EQ(bad_dim.code, 2) << bad_dim.output;
  EXPECT_NE(bad_dim.output.find("--embed-dim"), std::string::npos) << bad_dim.output;
}
