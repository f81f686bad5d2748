// An OpenAI-compatible fake LLM for tests and benchmarks: POST /v1/chat/completions
// (JSON or SSE streaming), POST /v1/embeddings, GET /v1/models, plus GET /stats,
// POST /reset and GET /healthz for the tests that drive it. Answers are deterministic;
// latency, errors, 429s and hangs are injected on demand so callers' timeouts, retries
// and backpressure can be exercised against a real HTTP/1.1 server.
//
// Thread-safety: one FakeLlmServer runs on one io_context that any number of threads may
// run; its counters are atomics and its options are read-only once started.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "ragd/core/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::fake_llm {

enum class LatencyDist { fixed, normal, longtail };

// What /v1/embeddings does with {"encoding_format": "base64"}: answer each vector as the
// base64 of its little-endian float32 bytes (OpenAI, vLLM), refuse the request with 400
// (a server that validates the field but knows only "float"), or ignore the field and
// answer floats (a server that does not know it).
enum class Base64Support { yes, reject, ignore };

struct FakeLlmOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0 = any free port
  double latency_ms = 0;
  double embedding_latency_ms = -1;  // /v1/embeddings; < 0 = latency_ms
  LatencyDist latency_dist = LatencyDist::fixed;
  double latency_jitter_ms = 0;
  double tokens_per_second = 0;  // streaming pace; 0 = as fast as possible
  double first_token_ms = 0;     // streaming: pause before the first word
  double inter_token_ms = -1;    // streaming: pause between words; < 0 = from tokens_per_second
  int answer_words = 0;          // > 0: every answer has exactly this many words
  double error_rate = 0;         // share of API calls answered 500
  double status_429_rate = 0;    // share answered 429 with Retry-After: 1
  double hang_rate = 0;          // share never answered (until the client gives up)
  std::int64_t fail_first = 0;   // the first N API calls fail with fail_first_status
  int fail_first_status = 500;   // 500 (or 429, with Retry-After: 1)
  std::uint64_t seed = 42;
  int dim = 384;                 // embedding size when the request names none
  Base64Support base64 = Base64Support::yes;
  std::string model = "fake-llm";
};

// Parses "fixed", "normal" or "longtail".
bool parse_latency_dist(std::string_view s, LatencyDist& out);

// Parses "yes", "reject" or "ignore".
bool parse_base64_support(std::string_view s, Base64Support& out);

// One latency draw in milliseconds (never negative):
//   fixed     latency
//   normal    Normal(latency, jitter)
//   longtail  latency + Exponential(mean = jitter), and 1 call in 100 takes 10x that
double sample_latency_ms(const FakeLlmOptions& o, std::mt19937_64& rng);
// The same around `base_ms` instead of o.latency_ms.
double sample_latency_ms(const FakeLlmOptions& o, std::mt19937_64& rng, double base_ms);

// "fake answer to: " + the first 200 bytes of the last user message; with words > 0, cut
// or padded ("lorem ipsum dolor ...") to exactly that many words.
std::string fake_answer(const JsonValue::Array& messages, int words = 0);

// The token count this server reports: runs of bytes other than spaces (isspace() in the
// "C" locale: space, \t, \n, \v, \f, \r).
int count_words(std::string_view s);

// A unit-length vector that depends only on (input, dim).
std::vector<float> fake_embedding(std::string_view input, int dim);

class FakeLlmServer {
 public:
  FakeLlmServer(boost::asio::io_context& io, FakeLlmOptions options);

  // Binds and starts accepting; returns the bound port. Throws on bind failure.
  unsigned short start();
  void stop();

  nlohmann::json stats() const;
  void reset();

  struct Counters {
    std::atomic<std::int64_t> chat_calls{0};
    std::atomic<std::int64_t> stream_calls{0};
    std::atomic<std::int64_t> streams_completed{0};  // streams that reached "data: [DONE]"
    std::atomic<std::int64_t> streams_aborted{0};    // streams whose client went away first
    std::atomic<std::int64_t> embedding_calls{0};
    std::atomic<std::int64_t> embedding_inputs{0};  // texts embedded, over all calls
    std::atomic<std::int64_t> embedding_base64_asked{0};  // calls with encoding_format "base64"
    std::atomic<std::int64_t> embedding_base64_calls{0};  // answered in base64
    std::atomic<std::int64_t> errors_injected{0};  // every injected failure (500, 429, hang)
    std::atomic<std::int64_t> status_500_injected{0};
    std::atomic<std::int64_t> status_429_injected{0};
    std::atomic<std::int64_t> hangs_injected{0};
    std::atomic<std::int64_t> bad_requests{0};
    std::atomic<std::int64_t> requests_total{0};
    std::atomic<std::int64_t> connections_accepted{0};
  };

  class Session;

 private:
  boost::asio::awaitable<void> accept_loop();

  boost::asio::io_context& io_;
  FakeLlmOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Counters counters_;
  std::atomic<std::int64_t> fail_remaining_;
  std::atomic<std::uint64_t> thread_seq_{0};
  std::atomic<std::uint64_t> completion_seq_{0};
};

}  // namespace ragd::fake_llm
