// RemoteEmbedder: vectors from an OpenAI-compatible embeddings service (OpenAI, vLLM,
// Ollama, llama.cpp server, TEI): POST {base}/v1/embeddings with {"model","input":[..]},
// answered by {"data":[{"index","embedding":[..]}]}. base_url may be given with or
// without the trailing "/v1".
//
// Batching: texts from every caller wait in one queue and leave in requests of at most
// `batch` texts, with at most `max_inflight` requests in flight; while those are busy,
// the texts of concurrent ingests gather into full batches. Queries jump the queue.
// Each request gets `timeout_ms` per attempt and is retried on 5xx, 429 (after
// Retry-After), timeouts and connection errors (net/retry.hpp) within a budget of
// timeout_ms * max_attempts. Returned vectors are L2-normalised; a vector of another
// length than `dim` fails the call with an error naming both.
//
// Thread-safety: every member function may be called from any thread at once. The queue
// lives on a strand of the executor given at construction; embed_documents_sync() runs
// its own private event loop on the calling thread instead (start-up, tools). Destroy it
// after the coroutines using it have finished; calls still queued then end in
// Errc::cancelled.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/redis/redis_config.hpp"
#include "ragd/retrieval/embedder.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::redis {
class Client;
}
namespace ragd::metrics {
class Registry;
}

namespace ragd::retrieval {

// The Retriever's embedder for `cfg`: null when cfg.embedder.base_url is empty (the
// built-in HashEmbedder), else a RemoteEmbedder on `ex` (its key read from the variable
// cfg.embedder.api_key_env names), behind a CachedEmbedder when cfg.embedder.cache.enabled
// (L2 in `redis` when given and enabled).
std::shared_ptr<Embedder> make_embedder(boost::asio::any_io_executor ex, const RetrievalConfig& cfg,
                                        redis::Client* redis, metrics::Registry& registry,
                                        const std::string& key_prefix);

// "{base}/v1/embeddings" with a trailing "/" or "/v1" of base_url folded in.
std::string embeddings_url(std::string_view base_url);

// The JSON body for one batch; with `base64`, asking for encoding_format "base64".
std::string build_embeddings_request(const std::string& model, const std::vector<std::string>& texts,
                                     bool base64 = false);

// count * dim floats in input order, each row L2-normalised, from a 2xx body whose
// embeddings are arrays of numbers or base64 strings (either, row by row). Errors
// (Errc::upstream_error): not JSON, no data array, an index missing or out of range, bad
// base64, or a vector of another length than `dim` ("... returned vectors of dim 384,
// expected 1024 (retrieval.embedder.dim)").
Result<std::vector<float>> parse_embeddings_response(std::string_view body, std::size_t count, int dim);

struct RemoteEmbedderOptions {
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{2000};
};

class RemoteEmbedder final : public Embedder {
 public:
  // `api_key` is sent as a bearer token when not empty.
  RemoteEmbedder(boost::asio::any_io_executor ex, EmbedderConfig cfg, std::string api_key,
                 RemoteEmbedderOptions options = {});
  ~RemoteEmbedder() override;
  RemoteEmbedder(const RemoteEmbedder&) = delete;
  RemoteEmbedder& operator=(const RemoteEmbedder&) = delete;

  int dim() const override;
  std::string name() const override { return "openai"; }
  std::string model() const override;
  // A digest of name and model, with the top bit set so it never equals a
  // HashEmbedder version.
  std::uint32_t snapshot_version() const override;

  boost::asio::awaitable<Result<std::vector<float>>> embed_query(std::string text) override;
  boost::asio::awaitable<Result<std::vector<float>>> embed_documents(std::vector<std::string> texts) override;
  Result<std::vector<float>> embed_documents_sync(std::vector<std::string> texts) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ragd::retrieval
