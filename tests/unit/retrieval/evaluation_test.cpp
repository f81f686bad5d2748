#include "ragd/retrieval/evaluation.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace ragd;
using namespace ragd::retrieval;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST(Evaluation, NdcgMatchesAHandComputedExample) {
  // Graded judgments: a = 2, b = 1, c = 0 (judged not relevant), d unjudged.
  const std::unordered_map<std::string, int> judged = {{"a", 2}, {"b", 1}, {"c", 0}};
  // Ranking d, b, c, a: DCG = 1/log2(3) + 2/log2(5); ideal = 2/log2(2) + 1/log2(3).
  const double dcg = 1 / std::log2(3.0) + 2 / std::log2(5.0);
  const double ideal = 2 + 1 / std::log2(3.0);
  EXPECT_NEAR(ndcg_at_k({"d", "b", "c", "a"}, judged, 10), dcg / ideal, 1e-12);
  EXPECT_NEAR(ndcg_at_k({"a", "b"}, judged, 10), 1.0, 1e-12);
  // Cut at 2: only d and b count, while the ideal still has a and b.
  EXPECT_NEAR(ndcg_at_k({"d", "b", "c", "a"}, judged, 2), (1 / std::log2(3.0)) / ideal, 1e-12);
  EXPECT_EQ(ndcg_at_k({}, judged, 10), 0.0);
  EXPECT_EQ(ndcg_at_k({"a"}, {{"a", 0}}, 10), 0.0);  // nothing relevant
}

TEST(Evaluation, RecallCountsRelevantDocumentsInTheCut) {
  const std::unordered_map<std::string, int> judged = {{"a", 1}, {"b", 3}, {"c", 0}, {"d", 1}};
  EXPECT_NEAR(recall_at_k({"x", "a", "c", "b"}, judged, 100), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(recall_at_k({"x", "a", "c", "b"}, judged, 2), 1.0 / 3.0, 1e-12);
  EXPECT_EQ(recall_at_k({"a"}, {}, 100), 0.0);
}

TEST(Evaluation, RankDocumentsKeepsEachDocumentsBestChunk) {
  std::vector<Hit> hits = {{"d1", "d1#2", "", "", 0.9}, {"d2", "d2#0", "", "", 0.8},
                           {"d1", "d1#0", "", "", 0.7}, {"d3", "d3#1", "", "", 0.6}};
  EXPECT_EQ(rank_documents(hits), (std::vector<std::string>{"d1", "d2", "d3"}));
}

TEST(Evaluation, LoadsABeirFolderWithAGzippedCorpusAndEvaluatesIt) {
  test::TempDir dir;
  const std::string corpus =
      "{\"_id\": \"bees\", \"title\": \"Honey bees\", \"text\": \"Worker bees perform the waggle dance.\"}\n"
      "{\"_id\": \"tides\", \"title\": \"Tides\", \"text\": \"The Moon's gravity pulls the oceans.\"}\n"
      "{\"_id\": 7, \"title\": \"Chess\", \"text\": \"The Sicilian Defence answers 1.e4 with c5.\"}\n";
  gzFile gz = gzopen((dir.path() + "/corpus.jsonl.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  gzwrite(gz, corpus.data(), static_cast<unsigned>(corpus.size()));
  gzclose(gz);
  write_file(dir.path() + "/queries.jsonl",
             "{\"_id\": \"q1\", \"text\": \"what dance do bees do\"}\n"
             "{\"_id\": \"q2\", \"text\": \"what pulls the oceans\"}\n"
             "{\"_id\": \"q3\", \"text\": \"sicilian defence\"}\n"
             "{\"_id\": \"q9\", \"text\": \"not judged in this split\"}\n");
  write_file(dir.path() + "/qrels/test.tsv",
             "query-id\tcorpus-id\tscore\nq1\tbees\t1\nq2\ttides\t2\nq3\t7\t1\n");

  auto data = load_beir(dir.path(), "test");
  ASSERT_TRUE(data) << data.error().message;
  EXPECT_EQ(data->corpus.size(), 3u);
  ASSERT_EQ(data->queries.size(), 3u);
  EXPECT_EQ(data->queries[0].id, "q1");
  EXPECT_EQ(data->qrels.at("q2").at("tides"), 2);

  RetrievalConfig config;
  config.embedding_dim = 128;
  Retriever retriever(config);
  ASSERT_TRUE(ingest_corpus(retriever, *data));
  auto results = evaluate(retriever, *data, {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid});
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 3u);
  for (const auto& m : *results) {
    EXPECT_EQ(m.queries, 3u);
    EXPECT_NEAR(m.ndcg_at_10, 1.0, 1e-9) << to_string(m.mode);
    EXPECT_NEAR(m.recall_at_100, 1.0, 1e-9) << to_string(m.mode);
  }

  auto limited = load_beir(dir.path(), "test", 2);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->queries.size(), 2u);
  EXPECT_EQ(limited->qrels.size(), 2u);
}

TEST(Evaluation, BadInputNamesTheFileAndLine) {
  test::TempDir dir;
  write_file(dir.path() + "/corpus.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\nnot json\n");
  write_file(dir.path() + "/queries.jsonl", "{\"_id\": \"q\", \"text\": \"x\"}\n");
  write_file(dir.path() + "/qrels/test.tsv", "q\ta\t1\n");
  auto data = load_beir(dir.path());
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message.find("corpus.jsonl:2"), std::string::npos) << data.error().message;
  EXPECT_FALSE(load_beir(dir.path() + "/missing"));
  // A gzip stream cut in the middle fails (zlib would pass plain, non-gzip bytes through).
  std::string gz_bytes;
  {
    gzFile gz = gzopen((dir.path() + "/cut.gz").c_str(), "wb");
    const std::string text(10000, 'x');
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
    std::ifstream in(dir.path() + "/cut.gz", std::ios::binary);
    gz_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  write_file(dir.path() + "/cut.gz", gz_bytes.substr(0, gz_bytes.size() / 2));
  EXPECT_FALSE(read_maybe_gzipped(dir.path() + "/cut.gz"));
}
