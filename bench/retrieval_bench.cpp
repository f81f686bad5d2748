// retrieval-bench: ingest rate, search latency and memory of the Retriever on synthetic
// text, per index kind, index size and search mode; and what batching concurrent dense
// searches into one FAISS call would save; and (--tenant-study) what a small tenant's query
// costs beside a big tenant.
//   retrieval-bench [--sizes 10000,100000] [--types flat,hnsw,ivf] [--dim 1024]
//                   [--queries 300] [--max-ingest-s 600] [--batch-study]
//   retrieval-bench --tenant-study [--tenant-chunks 100000] [--small-share 0.01] [--queries 300]
// Documents are ~600-byte passages of words drawn from a Zipf-distributed vocabulary
// (like natural text: a few very common words, a long tail), one chunk each. Memory is
// the process RSS growth while indexing, divided by the chunks: vectors, BM25 postings and
// the chunk store together.
#include "ragd/core/cli.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <malloc.h>
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


// What batching concurrent searches could save: the dense FAISS part of n queries as one
// search_batch call against n search calls, per query, best of three rounds.
void batch_study(Retriever& retriever, TextGenerator& gen, int dim) {
  const auto& embedder = retriever.embedder();
  const auto& index = retriever.vector_index();
  std::printf("  batch study (%s, %zu vectors): dense FAISS time per query, one call for n vs n calls\n",
              index.describe().c_str(), index.size());
  for (std::size_t n : {1u, 4u, 8u, 16u, 32u, 64u}) {
    std::vector<float> qv(n * static_cast<std::size_t>(dim));
    for (std::size_t i = 0; i < n; ++i) embedder.embed_into(gen.passage(8), qv.data() + i * static_cast<std::size_t>(dim));
    double single_best = 1e300, batch_best = 1e300;
    for (int round = 0; round < 3; ++round) {
      auto t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < n; ++i) (void)index.search(qv.data() + i * static_cast<std::size_t>(dim), 10);
      single_best = std::min(single_best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      t0 = std::chrono::steady_clock::now();
      (void)index.search_batch(qv.data(), n, 10);
      batch_best = std::min(batch_best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("  n=%-3zu one at a time %8.3f ms/query | batched %8.3f ms/query | %.2fx\n", n,
                single_best / static_cast<double>(n), batch_best / static_cast<double>(n), single_best / batch_best);
  }
}

// `clients` coroutines on one I/O thread, each searching its share of `qs` one after the
// other through Retriever::search (the pool does the work): QPS and latency per search.
void concurrent_run(Retriever& retriever, const std::vector<std::string>& qs, int clients, SearchMode mode,
                    bool batch, const std::string& type, std::size_t chunks) {
  retriever.set_batch_searches(batch);
  std::vector<double> ms;
  ms.reserve(qs.size());
  std::size_t next = 0;
  boost::asio::io_context io;
  auto client = [](Retriever& r, const std::vector<std::string>& qs, std::size_t& next, std::vector<double>& ms,
                   SearchMode mode) -> boost::asio::awaitable<void> {
    while (next < qs.size()) {
      const std::string q = qs[next++];
      const auto t0 = std::chrono::steady_clock::now();
      auto hits = co_await r.search(q, 10, mode);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (!hits) std::fprintf(stderr, "search failed: %s\n", hits.error().message.c_str());
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c) boost::asio::co_spawn(io, client(retriever, qs, next, ms, mode), boost::asio::detached);
  io.run();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%-5s | %-8zu | %3d clients, batch %-3s | %-8s | %8.0f QPS | P50 %8.3f ms | P99 %8.3f ms\n", type.c_str(),
              chunks, clients, batch ? "on" : "off", std::string(ragd::retrieval::to_string(mode)).c_str(),
              static_cast<double>(ms.size()) / s, percentile(ms, 0.5), percentile(ms, 0.99));
}

// n passages, one chunk each, with ids "<prefix><i>".
std::vector<Document> passages(TextGenerator& gen, const std::string& prefix, std::size_t first, std::size_t n) {
  std::vector<Document> docs;
  docs.reserve(n);
  for (std::size_t i = first; i < first + n; ++i) {
    docs.push_back(Document{prefix + std::to_string(i), "", gen.passage(kWordsPerPassage)});
  }
  return docs;
}

// A small tenant's searches beside a big tenant (the partitions of retrieval/corpora.hpp):
// one Retriever holds `total` chunks (documents are added until there are that many),
// `small_share` of them tenant S's and the rest tenant L's; a second holds only S's
// documents as its one tenant. The same queries go to S in the first and to the second,
// alternated query by query, in each mode, default retrieval config; per-search latency
// on the calling thread (no pool, no HTTP).
int tenant_study(std::size_t total, double small_share, int queries) {
  const ragd::RetrievalConfig config;
  TextGenerator gen(42);
  const auto small = static_cast<std::size_t>(static_cast<double>(total) * small_share);
  Retriever shared(config);
  Retriever alone(config);
  std::size_t next = 0;
  while (alone.chunk_count() < small) {
    const std::vector<Document> docs = passages(gen, "s", next, 10);
    next += docs.size();
    if (!shared.ingest_sync("s", docs) || !alone.ingest_sync("s", docs)) return 1;
  }
  constexpr std::size_t kBatch = 1000;
  while (shared.chunk_count() < total) {
    // About 1.25 chunks a document: a batch that will not overshoot by much.
    const std::size_t n = std::min(kBatch, (total - shared.chunk_count()) * 4 / 5 + 1);
    auto r = shared.ingest_sync("l", passages(gen, "l", next, n));
    next += n;
    if (!r) {
      std::fprintf(stderr, "ingest failed: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  shared.corpora().wait_for_rebuild();
  const std::size_t s_chunks = shared.corpora().find("s")->chunk_count();
  const std::size_t l_chunks = shared.corpora().find("l")->chunk_count();
  std::vector<std::string> qs;
  for (int q = 0; q < queries; ++q) qs.push_back(gen.passage(8));
  std::printf("index %s, dim %d, top_k 10, %d queries per mode, one search at a time\n",
              shared.corpora().index_description().c_str(), config.embedding_dim, queries);
  std::printf("S beside L: S %zu chunks + L %zu chunks in one Retriever; alone: S's %zu chunks as the only tenant\n\n",
              s_chunks, l_chunks, alone.chunk_count());
  std::printf("| mode | S beside L P50 ms | alone P50 ms | P50 ratio | S beside L P99 ms | alone P99 ms | L's own P50 ms |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  auto timed = [](const Retriever& r, const std::string& tenant, const std::string& q, SearchMode mode,
                  std::vector<double>& ms) {
    const auto t0 = std::chrono::steady_clock::now();
    auto found = r.retrieve_sync(tenant, q, 10, mode);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    return found && !found->hits.empty();
  };
  for (SearchMode mode : {SearchMode::dense, SearchMode::lexical, SearchMode::hybrid}) {
    std::vector<double> beside, by_itself, big, warmup;
    for (int w = 0; w < 20; ++w) {
      timed(shared, "s", qs[static_cast<std::size_t>(w) % qs.size()], mode, warmup);
      timed(alone, "s", qs[static_cast<std::size_t>(w) % qs.size()], mode, warmup);
    }
    for (std::size_t i = 0; i < qs.size(); ++i) {
      // Alternated, so that drift (other load, frequency) falls on both alike.
      const bool first_shared = i % 2 == 0;
      bool ok = timed(first_shared ? shared : alone, "s", qs[i], mode, first_shared ? beside : by_itself);
      ok = timed(first_shared ? alone : shared, "s", qs[i], mode, first_shared ? by_itself : beside) && ok;
      if (!ok) {
        std::fprintf(stderr, "a search of S found nothing\n");
        return 1;
      }
      timed(shared, "l", qs[i], mode, big);
    }
    const double ratio = percentile(beside, 0.5) / percentile(by_itself, 0.5);
    std::printf("| %s | %.3f | %.3f | %.2f | %.3f | %.3f | %.3f |\n", std::string(ragd::retrieval::to_string(mode)).c_str(),
                percentile(beside, 0.5), percentile(by_itself, 0.5), ratio, percentile(beside, 0.99),
                percentile(by_itself, 0.99), percentile(big, 0.5));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<ragd::FlagSpec> specs = {
      {"sizes", true, "chunk counts, comma-separated (default 10000,100000)", "LIST"},
      {"types", true, "index kinds, comma-separated: flat, hnsw, ivf (default flat)", "LIST"},
      {"max-ingest-s", true, "stop ingesting a run after this long and measure what is in (default 600)", "S"},
      {"batch-study", false, "also time dense searches batched n at a time against one at a time"},
      {"concurrency", true, "also run N concurrent searches through the coroutine API, batching off and on (default 0: skip)", "N"},
      {"dim", true, "embedding dimension (default: the config default)", "N"},
      {"queries", true, "queries per mode (default 300)", "N"},
      {"tenant-study", false, "instead: a small tenant's searches beside a big tenant against the same tenant alone"},
      {"tenant-chunks", true, "tenant study: chunks of both tenants together (default 100000)", "N"},
      {"small-share", true, "tenant study: the small tenant's share of them (default 0.01)", "F"},
      {"help", false, "show this help"},
  };
  auto flags = ragd::parse_flags(argc, argv, specs);
  if (!flags || flags->has("help")) {
    std::fprintf(stderr, "Usage: retrieval-bench [flags]\n%s", ragd::flags_help(specs).c_str());
    return flags ? 0 : 2;
  }
  if (flags->has("tenant-study")) {
    return tenant_study(std::stoul(flags->get("tenant-chunks").value_or("100000")),
                        std::stod(flags->get("small-share").value_or("0.01")),
                        std::stoi(flags->get("queries").value_or("300")));
  }
  std::vector<std::size_t> sizes;
  std::stringstream list(flags->get("sizes").value_or("10000,100000"));
  for (std::string n; std::getline(list, n, ',');) sizes.push_back(std::stoul(n));
  std::vector<std::string> types;
  std::stringstream type_list(flags->get("types").value_or("flat"));
  for (std::string t; std::getline(type_list, t, ',');) types.push_back(t);
  const double max_ingest_s = std::stod(flags->get("max-ingest-s").value_or("600"));
  ragd::RetrievalConfig config;
  if (auto d = flags->get("dim")) config.embedding_dim = std::stoi(*d);
  const int queries = std::stoi(flags->get("queries").value_or("300"));

  std::printf("dim %d, %d queries per mode, top_k 10, one search at a time, ingest in batches of 1000\n\n",
              config.embedding_dim, queries);
  std::printf("%-5s | %-8s | %-9s | %-9s | %-9s | %-8s | %-8s | %-8s | %-8s\n", "index", "chunks", "chunks/s",
              "ingest s", "KiB/chunk", "mode", "P50 ms", "P99 ms", "mean ms");
  std::printf("------|----------|-----------|-----------|-----------|----------|----------|----------|---------\n");
  for (const std::string& type : types) {
    for (std::size_t size : sizes) {
      config.index.type = type;
      TextGenerator gen(42);
      malloc_trim(0);  // what the last run freed goes back to the system before we measure
      const double rss_before = rss_mib();
      auto retriever = std::make_unique<Retriever>(config);
      constexpr std::size_t kBatch = 1000;
      double ingest_s = 0.0;
      for (std::size_t i = 0; i < size && ingest_s < max_ingest_s; i += kBatch) {
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
      // IVF training runs on the side: wait for it (and count it), so searches measure IVF.
      const auto t_rebuild = std::chrono::steady_clock::now();
      retriever->vector_index().wait_for_rebuild();
      ingest_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t_rebuild).count();
      const double kib_per_chunk =
          (rss_mib() - rss_before) * 1024.0 / static_cast<double>(retriever->chunk_count());
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
        std::printf("%-5s | %-8zu | %9.0f | %9.1f | %9.2f | %-8s | %8.3f | %8.3f | %8.3f\n", type.c_str(),
                    retriever->chunk_count(), rate, ingest_s, kib_per_chunk,
                    std::string(ragd::retrieval::to_string(mode)).c_str(), percentile(ms, 0.5),
                    percentile(ms, 0.99), mean);
      }
      if (flags->has("batch-study")) batch_study(*retriever, gen, config.embedding_dim);
      if (const int clients = std::stoi(flags->get("concurrency").value_or("0")); clients > 0) {
        for (SearchMode mode : {SearchMode::dense, SearchMode::hybrid}) {
          for (bool batch : {false, true}) {
            concurrent_run(*retriever, qs, clients, mode, batch, type, retriever->chunk_count());
          }
        }
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
