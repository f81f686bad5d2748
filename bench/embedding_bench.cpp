// embedding-bench: what one query vector costs from each source, to decide where the
// embedding cache pays: the built-in hash embedder, a cache L1 hit, a cache L2 hit
// (Redis), and a remote embedder miss.
//   embedding-bench [--iterations 20000] [--dim 1024] [--redis redis://127.0.0.1:6379]
//                   [--embed-url http://127.0.0.1:8000 --embed-dim 384]
// Without --redis the L2 row is skipped; without --embed-url the remote row is.
// Single-threaded, sequential calls: latency per call, not throughput.
#include "ragd/core/cli.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/retrieval/embedding_cache.hpp"
#include "ragd/retrieval/remote_embedder.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using ragd::retrieval::CachedEmbedder;
using ragd::retrieval::Embedder;
using clock_type = std::chrono::steady_clock;

const std::vector<std::string> kQuestions = {
    "How long should I bake the sourdough loaf in the Dutch oven?",
    "Which Icelandic volcano was called the gateway to hell?",
    "What causes spring tides and neap tides?",
    "How do worker bees tell their sisters where the flowers are?",
};

// Mean microseconds per embed_query over `n` calls, cycling through kQuestions.
double time_queries(asio::io_context& io, Embedder& e, int n) {
  auto run = [&e, n]() -> asio::awaitable<double> {
    const auto start = clock_type::now();
    for (int i = 0; i < n; ++i) {
      auto v = co_await e.embed_query(kQuestions[static_cast<std::size_t>(i) % kQuestions.size()]);
      if (!v) {
        std::fprintf(stderr, "embedding failed: %s\n", v.error().message.c_str());
        co_return -1.0;
      }
    }
    co_return std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / n;
  };
  auto fut = asio::co_spawn(io, run(), asio::use_future);
  // Not io.run(): the Redis and HTTP clients keep work (reads, timers) alive between calls.
  io.restart();
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
  return fut.get();
}

void row(const char* what, double us) {
  std::printf("%-44s %10.2f us/query\n", what, us);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<ragd::FlagSpec> specs = {
      {"iterations", true, "queries per measurement (default 20000)", "N"},
      {"dim", true, "hash embedder dimension (default 1024)", "N"},
      {"redis", true, "Redis URL for the L2 row", "URL"},
      {"embed-url", true, "OpenAI-compatible embeddings server for the remote row", "URL"},
      {"embed-dim", true, "its vector size (default 384)", "N"},
      {"help", false, "show this help"},
  };
  auto flags = ragd::parse_flags(argc, argv, specs);
  if (!flags || flags->has("help")) {
    std::printf("Usage: embedding-bench [flags]\n\n%s", ragd::flags_help(specs).c_str());
    return flags ? 0 : 2;
  }
  const int n = std::stoi(flags->get("iterations").value_or("20000"));
  const int dim = std::stoi(flags->get("dim").value_or("1024"));

  asio::io_context io;
  ragd::metrics::Registry registry;
  auto hash = std::make_shared<ragd::retrieval::HashEmbedder>(dim);
  row("hash embedder (no cache)", time_queries(io, *hash, n));

  ragd::EmbeddingCacheConfig l1_only;
  CachedEmbedder l1(hash, l1_only, nullptr, registry);
  time_queries(io, l1, static_cast<int>(kQuestions.size()));  // fill L1
  row("cache L1 hit (normalize + sha256 + LRU)", time_queries(io, l1, n));

  if (auto url = flags->get("redis")) {
    ragd::RedisConfig rc;
    rc.url = *url;
    ragd::redis::Client redis(io.get_executor(), rc);
    ragd::EmbeddingCacheConfig tiny_l1;
    tiny_l1.l1_max_entries = 1;  // every lookup misses L1 and is served by Redis
    tiny_l1.l1_max_bytes = 4096;
    CachedEmbedder l2(hash, tiny_l1, &redis, registry, "ragd-bench:");
    time_queries(io, l2, static_cast<int>(kQuestions.size()));  // fill L2
    row("cache L2 hit (Redis GET on loopback)", time_queries(io, l2, std::min(n, 5000)));
  }
  if (auto url = flags->get("embed-url")) {
    ragd::EmbedderConfig ec;
    ec.base_url = *url;
    ec.model = "bench";
    ec.dim = std::stoi(flags->get("embed-dim").value_or("384"));
    ragd::retrieval::RemoteEmbedder remote(io.get_executor(), ec, "");
    row("remote embedder (one HTTP call per query)", time_queries(io, remote, std::min(n, 2000)));
  }
  return 0;
}
