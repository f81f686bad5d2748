// retrieval-bench: ingest rate, search latency and memory of the Retriever on synthetic
// text, per index size and search mode.
//   retrieval-bench [--sizes 10000,100000] [--dim 1024] [--queries 300]
// Documents are ~600-byte passages of words drawn from a Zipf-distributed vocabulary
// (like natural text: a few very common words, a long tail), one chunk each. Memory is
// the process RSS growth while indexing, divided by the chunks: vectors, BM25 postings and
// the chunk store together.
#include "ragd/core/cli.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using ragd::retrieval::Document;
using ragd::retrieval::Retriever;
using ragd::retrieval::SearchMode;

constexpr int kVocabulary = 50000;
constexpr int kWordsPerPassage = 90;

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

class TextGenerator {
 public:
  explicit TextGenerator(unsigned seed) : rng_(seed) {
    std::vector<double> weights(kVocabulary);
    for (int i = 0; i < kVocabulary; ++i) weights[i] = 1.0 / std::pow(i + 1.0, 1.07);
    zipf_ = std::discrete_distribution<int>(weights.begin(), weights.end());
    const char* syllables[] = {"ka", "lo", "mer", "ti", "san", "dre", "vo", "qui", "pha", "nel",
                               "bor", "es", "tra", "gu", "lin", "or", "cy", "zen", "ap", "ul"};
    std::uniform_int_distribution<int> pick(0, 19), len(1, 4);
    words_.reserve(kVocabulary);
    for (int i = 0; i < kVocabulary; ++i) {
      std::string w;
      const int n = len(rng_);
      for (int j = 0; j < n; ++j) w += syllables[pick(rng_)];
      w += static_cast<char>('a' + i % 26);  // more distinct words
      w += static_cast<char>('a' + (i / 26) % 26);
      words_.push_back(w);
    }
  }
  std::string passage(int words) {
    std::string s;
    for (int i = 0; i < words; ++i) {
      if (i > 0 && i % 15 == 0) s += '.';
      if (i > 0) s += ' ';
      s += words_[static_cast<std::size_t>(zipf_(rng_))];
    }
    s += '.';
    return s;
  }

 private:
  std::mt19937 rng_;
  std::discrete_distribution<int> zipf_;
  std::vector<std::string> words_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<ragd::FlagSpec> specs = {
      {"sizes", true, "chunk counts, comma-separated (default 10000,100000)", "LIST"},
      {"dim", true, "embedding dimension (default: the config default)", "N"},
      {"queries", true, "queries per mode (default 300)", "N"},
      {"help", false, "show this help"},
  };
  auto flags = ragd::parse_flags(argc, argv, specs);
  if (!flags || flags->has("help")) {
    std::fprintf(stderr, "Usage: retrieval-bench [flags]\n%s", ragd::flags_help(specs).c_str());
    return flags ? 0 : 2;
  }
  std::vector<std::size_t> sizes;
  std::stringstream list(flags->get("sizes").value_or("10000,100000"));
  for (std::string n; std::getline(list, n, ',');) sizes.push_back(std::stoul(n));
  ragd::RetrievalConfig config;
  if (auto d = flags->get("dim")) config.embedding_dim = std::stoi(*d);
  const int queries = std::stoi(flags->get("queries").value_or("300"));

  std::printf("index flat, dim %d, %d queries per mode, top_k 10, one search at a time\n\n",
              config.embedding_dim, queries);
  std::printf("%-8s | %-10s | %-12s | %-8s | %-8s | %-8s | %-8s\n", "chunks", "chunks/s", "KiB/chunk",
              "mode", "P50 ms", "P99 ms", "mean ms");
  std::printf("---------|------------|--------------|----------|----------|----------|---------\n");
  for (std::size_t size : sizes) {
    TextGenerator gen(42);
    const double rss_before = rss_mib();
    auto retriever = std::make_unique<Retriever>(config);
    constexpr std::size_t kBatch = 1000;
    double ingest_s = 0.0;
    for (std::size_t i = 0; i < size; i += kBatch) {
      std::vector<Document> docs;
      for (std::size_t j = i; j < std::min(size, i + kBatch); ++j) {
        std::string id = std::to_string(j);
        id.insert(id.begin(), 'd');
        docs.push_back(Document{std::move(id), "", gen.passage(kWordsPerPassage)});
      }
      const auto t0 = std::chrono::steady_clock::now();
      auto stats = retriever->ingest_sync(std::move(docs));
      ingest_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!stats) {
        std::fprintf(stderr, "ingest failed: %s\n", stats.error().message.c_str());
        return 1;
      }
    }
    const double kib_per_chunk = (rss_mib() - rss_before) * 1024.0 / static_cast<double>(retriever->chunk_count());
    const double rate = static_cast<double>(retriever->chunk_count()) / ingest_s;
    std::vector<std::string> qs;
    for (int q = 0; q < queries; ++q) qs.push_back(gen.passage(8));
    for (SearchMode mode : {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid}) {
      std::vector<double> ms;
      for (const auto& q : qs) {
        const auto t0 = std::chrono::steady_clock::now();
        auto hits = retriever->search_sync(q, 10, mode);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (!hits) return 1;
      }
      double mean = 0.0;
      for (double m : ms) mean += m;
      mean /= static_cast<double>(ms.size());
      std::printf("%-8zu | %10.0f | %12.2f | %-8s | %8.2f | %8.2f | %8.2f\n", retriever->chunk_count(), rate,
                  kib_per_chunk, std::string(ragd::retrieval::to_string(mode)).c_str(), percentile(ms, 0.5),
                  percentile(ms, 0.99), mean);
    }
    std::fflush(stdout);
  }
  return 0;
}
