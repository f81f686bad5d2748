// filter-bench: what a metadata filter costs a search. One Retriever per index kind holds
// `--chunks` one-chunk documents whose metadata gives filters of known selectivity; the
// same queries run unfiltered and under each filter, on the calling thread, and the
// latency per query is printed (mean, p50, p99) with its ratio to the unfiltered run of
// the same index in the same process.
//   filter-bench [--chunks 20000] [--types flat,hnsw,ivf] [--dim 256] [--queries 300]
//                [--mode hybrid|dense|lexical] [--top-k 5]
// Documents are ~60 words drawn uniformly from a 5000-word vocabulary; metadata
// {"group": i % 100, "lang": "en" | "fr" (alternating), "year": 2000 + i % 25}.
#include "ragd/core/cli.hpp"
#include "ragd/retrieval/metadata_filter.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace ragd;
using namespace ragd::retrieval;

constexpr int kWords = 5000;

std::string word(int i) {
  static const char* parts[] = {"ba", "ko", "ri", "me", "su", "ta", "ne", "lo", "vi", "da"};
  std::string w;
  for (int n = i + 1; n > 0; n /= 10) w += parts[n % 10];
  return w;
}

std::string words(std::mt19937& rng, int n) {
  std::uniform_int_distribution<int> pick(0, kWords - 1);
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ' ';
    out += word(pick(rng));
  }
  return out;
}

struct Figures {
  double mean = 0, p50 = 0, p99 = 0;
  double hits = 0;  // mean hits per query
};

Figures measure(const Retriever& r, const std::vector<std::string>& queries, int top_k, SearchMode mode,
                const MetadataFilter* filter) {
  std::vector<double> ms;
  ms.reserve(queries.size());
  double hits = 0;
  for (const auto& q : queries) {
    const auto t0 = std::chrono::steady_clock::now();
    auto found = r.retrieve_sync(q, top_k, mode, filter);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!found) {
      std::fprintf(stderr, "search failed: %s\n", found.error().message.c_str());
      std::exit(1);
    }
    hits += static_cast<double>(found->hits.size());
  }
  std::sort(ms.begin(), ms.end());
  Figures f;
  for (double m : ms) f.mean += m;
  f.mean /= static_cast<double>(ms.size());
  f.p50 = ms[ms.size() / 2];
  f.p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  f.hits = hits / static_cast<double>(queries.size());
  return f;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<FlagSpec> specs = {{"chunks", true, "documents (one chunk each)", "N"},
                                       {"types", true, "index kinds", "LIST"},
                                       {"dim", true, "embedding dimension", "N"},
                                       {"queries", true, "queries per run", "N"},
                                       {"mode", true, "search mode", "MODE"},
                                       {"top-k", true, "passages per query", "N"}};
  auto flags = parse_flags(argc, argv, specs);
  if (!flags) {
    std::fprintf(stderr, "%s\n%s", flags.error().message.c_str(), flags_help(specs).c_str());
    return 2;
  }
  const int chunks = std::stoi(flags->get("chunks").value_or("20000"));
  const int dim = std::stoi(flags->get("dim").value_or("256"));
  const int n_queries = std::stoi(flags->get("queries").value_or("300"));
  const int top_k = std::stoi(flags->get("top-k").value_or("5"));
  const auto mode = parse_search_mode(flags->get("mode").value_or("hybrid"));
  if (!mode) {
    std::fprintf(stderr, "--mode must be dense, lexical or hybrid\n");
    return 2;
  }

  std::mt19937 rng(7);
  std::vector<Document> docs;
  docs.reserve(static_cast<std::size_t>(chunks));
  for (int i = 0; i < chunks; ++i) {
    nlohmann::json meta = {{"group", i % 100}, {"lang", i % 2 == 0 ? "en" : "fr"}, {"year", 2000 + i % 25}};
    docs.push_back({"doc-" + std::to_string(i), "", words(rng, 60), meta.dump()});
  }
  std::vector<std::string> queries;
  for (int i = 0; i < n_queries; ++i) queries.push_back(words(rng, 4));

  struct Named {
    const char* name;
    const char* share;
    const char* json;
  };
  const Named filters[] = {{"group = 7", "1%", R"({"group": 7})"},
                           {"group < 10", "10%", R"({"group": {"$lt": 10}})"},
                           {"lang = en", "50%", R"({"lang": "en"})"},
                           {"year >= 2001, lang in", "96%", R"({"year": {"$gte": 2001}, "lang": {"$in": ["en", "fr"]}})"}};

  std::printf("filter-bench: %d chunks, dim %d, %d queries, top_k %d, mode %s\n\n", chunks, dim, n_queries, top_k,
              std::string(to_string(*mode)).c_str());
  std::printf("| index | filter | matching | mean ms | p50 ms | p99 ms | mean/unfiltered | hits/query |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& type : split(flags->get("types").value_or("flat,hnsw,ivf"))) {
    RetrievalConfig config;
    config.embedding_dim = dim;
    config.index.type = type;
    Retriever r(config);
    for (std::size_t first = 0; first < docs.size(); first += 1000) {
      std::vector<Document> part(docs.begin() + static_cast<std::ptrdiff_t>(first),
                                 docs.begin() + static_cast<std::ptrdiff_t>(std::min(docs.size(), first + 1000)));
      if (auto added = r.ingest_sync(std::move(part)); !added) {
        std::fprintf(stderr, "ingest failed: %s\n", added.error().message.c_str());
        return 1;
      }
    }
    r.vector_index().wait_for_rebuild();
    measure(r, queries, top_k, *mode, nullptr);  // warm-up
    const Figures base = measure(r, queries, top_k, *mode, nullptr);
    std::printf("| %s | none | 100%% | %.3f | %.3f | %.3f | 1.00 | %.1f |\n", type.c_str(), base.mean, base.p50,
                base.p99, base.hits);
    for (const auto& f : filters) {
      auto filter = MetadataFilter::parse(nlohmann::json::parse(f.json));
      if (!filter) return 1;
      const Figures got = measure(r, queries, top_k, *mode, &*filter);
      std::printf("| %s | %s | %s | %.3f | %.3f | %.3f | %.2f | %.1f |\n", type.c_str(), f.name, f.share, got.mean,
                  got.p50, got.p99, got.mean / base.mean, got.hits);
    }
  }
  return 0;
}
