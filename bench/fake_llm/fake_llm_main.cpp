// fake-llm: an OpenAI-compatible fake LLM server for tests and benchmarks (see
// fake_llm_server.hpp). Prints "fake-llm listening on HOST:PORT" once it accepts.
#include "fake_llm_server.hpp"

#include "ragd/core/cli.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace {

using ragd::FlagSpec;
using ragd::fake_llm::FakeLlmOptions;

const std::vector<FlagSpec>& flag_specs() {
  static const std::vector<FlagSpec> specs = {
      {"listen", true, "address to serve on (default 127.0.0.1:0; port 0 = any free port)", "HOST:PORT"},
      {"latency-ms", true, "added latency per API call (default 0)", "N"},
      {"embedding-latency-ms", true, "added latency per /v1/embeddings call (default: --latency-ms)", "N"},
      {"latency-dist", true, "fixed | normal | longtail (default fixed)", "DIST"},
      {"latency-jitter-ms", true, "spread for normal (stddev) and longtail (mean of the tail)", "N"},
      {"tokens-per-second", true, "streaming pace, words per second (default 0 = no pause)", "N"},
      {"first-token-ms", true, "streaming: pause before the first word (default 0)", "N"},
      {"inter-token-ms", true, "streaming: pause between words (overrides --tokens-per-second)", "N"},
      {"answer-words", true, "every answer has exactly N words (default 0 = the echo as it is)", "N"},
      {"error-rate", true, "share of API calls answered 500 (0..1)", "P"},
      {"status-429-rate", true, "share of API calls answered 429 with Retry-After: 1 (0..1)", "P"},
      {"hang-rate", true, "share of API calls never answered (0..1)", "P"},
      {"fail-first", true, "the first N API calls fail (again after POST /reset)", "N"},
      {"fail-first-status", true, "status of those failures: 500 (default) or 429", "CODE"},
      {"dim", true, "embedding dimension when the request gives none (default 384)", "N"},
      {"base64", true, "encoding_format \"base64\": yes (answer it, default), reject (400) or ignore (answer floats)", "MODE"},
      {"model", true, "model name reported when the request gives none", "NAME"},
      {"seed", true, "random seed for the injected faults and latencies (default 42)", "N"},
      {"threads", true, "I/O threads (default 1)", "N"},
      {"help", false, "show this help"},
      {"version", false, "show the version"},
  };
  return specs;
}

bool parse_double(const ragd::ParsedFlags& f, const char* name, double& out, double lo, double hi) {
  auto v = f.get(name);
  if (!v) return true;
  try {
    std::size_t used = 0;
    double d = std::stod(*v, &used);
    if (used != v->size() || d < lo || d > hi) throw std::out_of_range(name);
    out = d;
    return true;
  } catch (const std::exception&) {
    std::fprintf(stderr, "fake-llm: --%s must be a number in [%g, %g], got '%s'\n", name, lo, hi, v->c_str());
    return false;
  }
}

bool parse_int(const ragd::ParsedFlags& f, const char* name, long long& out, long long lo, long long hi) {
  double d = static_cast<double>(out);
  if (!parse_double(f, name, d, static_cast<double>(lo), static_cast<double>(hi))) return false;
  if (d != static_cast<double>(static_cast<long long>(d))) {
    std::fprintf(stderr, "fake-llm: --%s must be a whole number\n", name);
    return false;
  }
  out = static_cast<long long>(d);
  return true;
}

bool parse_listen(const std::string& s, FakeLlmOptions& o) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  try {
    std::size_t used = 0;
    int port = std::stoi(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1 || port < 0 || port > 65535) return false;
    o.host = host;
    o.port = static_cast<unsigned short>(port);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = ragd::parse_flags(argc, argv, flag_specs());
  if (!flags) {
    std::fprintf(stderr, "fake-llm: %s\n\n%s", flags.error().message.c_str(), ragd::flags_help(flag_specs()).c_str());
    return 2;
  }
  if (flags->has("help")) {
    std::printf("usage: fake-llm [flags]\n\nAn OpenAI-compatible fake LLM server.\n\n%s",
                ragd::flags_help(flag_specs()).c_str());
    return 0;
  }
  if (flags->has("version")) {
    std::printf("fake-llm %s\n", RAGD_VERSION);
    return 0;
  }

  FakeLlmOptions o;
  if (auto l = flags->get("listen"); l && !parse_listen(*l, o)) {
    std::fprintf(stderr, "fake-llm: --listen must be HOST:PORT, got '%s'\n", l->c_str());
    return 2;
  }
  if (auto d = flags->get("latency-dist"); d && !ragd::fake_llm::parse_latency_dist(*d, o.latency_dist)) {
    std::fprintf(stderr, "fake-llm: --latency-dist must be fixed, normal or longtail\n");
    return 2;
  }
  if (auto b = flags->get("base64"); b && !ragd::fake_llm::parse_base64_support(*b, o.base64)) {
    std::fprintf(stderr, "fake-llm: --base64 must be yes, reject or ignore\n");
    return 2;
  }
  // One I/O thread by default: a second one on the shared io_context cost more CPU per call
  // than it added (bench/README.md).
  long long fail_first = 0, fail_status = 500, dim = o.dim, seed = 42, threads = 1, answer_words = 0;
  bool ok = parse_double(*flags, "latency-ms", o.latency_ms, 0, 3.6e6) &&
            parse_double(*flags, "embedding-latency-ms", o.embedding_latency_ms, 0, 3.6e6) &&
            parse_double(*flags, "latency-jitter-ms", o.latency_jitter_ms, 0, 3.6e6) &&
            parse_double(*flags, "tokens-per-second", o.tokens_per_second, 0, 1e9) &&
            parse_double(*flags, "first-token-ms", o.first_token_ms, 0, 3.6e6) &&
            parse_double(*flags, "inter-token-ms", o.inter_token_ms, 0, 3.6e6) &&
            parse_int(*flags, "answer-words", answer_words, 0, 1000000) &&
            parse_double(*flags, "error-rate", o.error_rate, 0, 1) &&
            parse_double(*flags, "status-429-rate", o.status_429_rate, 0, 1) &&
            parse_double(*flags, "hang-rate", o.hang_rate, 0, 1) &&
            parse_int(*flags, "fail-first", fail_first, 0, 1LL << 40) &&
            parse_int(*flags, "fail-first-status", fail_status, 400, 599) &&
            parse_int(*flags, "dim", dim, 1, 16384) &&
            parse_int(*flags, "seed", seed, 0, 1LL << 52) &&
            parse_int(*flags, "threads", threads, 1, 256);
  if (!ok) return 2;
  o.fail_first = fail_first;
  o.answer_words = static_cast<int>(answer_words);
  o.fail_first_status = static_cast<int>(fail_status);
  o.dim = static_cast<int>(dim);
  o.seed = static_cast<std::uint64_t>(seed);
  if (auto m = flags->get("model")) o.model = *m;

  try {
    boost::asio::io_context io(static_cast<int>(threads));
    ragd::fake_llm::FakeLlmServer server(io, o);
    const unsigned short port = server.start();

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      server.stop();
      io.stop();  // hung and idle connections are dropped with the io_context
    });

    std::printf("fake-llm listening on %s:%u\n", o.host.c_str(), static_cast<unsigned>(port));
    std::fflush(stdout);

    std::vector<std::thread> pool;
    for (long long i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake-llm: %s\n", e.what());
    return 1;
  }
  return 0;
}
