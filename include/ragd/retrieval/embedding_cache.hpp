// CachedEmbedder: the embedding cache tier in front of another Embedder, so a repeated
// question skips the embedding service. Keyed by the embedder's identity (name, model,
// dim) and the SHA-256 of the normalized query text (whitespace runs folded to one
// space, ends trimmed; the normalized text is also what gets embedded, so a cached vector
// is exactly what a fresh call would return). Values are the raw little-endian float32
// vector. Tiers: L1 in process (bounded by entries and bytes) and L2 in Redis (shared by
// replicas, expiring after l2_ttl_ms), through cache::TieredCache; its metrics appear as
// ragd_cache_lookups_total{cache="embedding"}. A Redis failure is a miss, never an error.
//
// Only queries are cached: document texts are embedded once per ingest and would fill
// the tiers with vectors nobody asks for again. Meant for remote embedders: the built-in
// hash embedder computes a query vector faster than a cache lookup (see
// docs/operations.md), and its query vectors depend on corpus statistics.
//
// Thread-safety: as the wrapped Embedder; the cache tiers are thread-safe.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/retrieval/embedder.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::redis {
class Client;
}
namespace ragd::metrics {
class Registry;
}
namespace ragd::cache {
class TieredCache;
}

namespace ragd::retrieval {

// Whitespace runs (space, tab, newline, ...) become one space; leading and trailing ones go.
std::string normalize_embedding_text(std::string_view text);

// The stored form of a vector (raw float32, host order = little-endian on every target we
// build) and back; nullopt when the size is not dim * 4 bytes.
std::string encode_vector(const std::vector<float>& v);
std::optional<std::vector<float>> decode_vector(std::string_view bytes, int dim);

class CachedEmbedder final : public Embedder {
 public:
  // `redis` may be null (or cfg.l2_enabled false): L1 only. Keys live under
  // "<key_prefix>cache:embedding:".
  CachedEmbedder(std::shared_ptr<Embedder> inner, const EmbeddingCacheConfig& cfg, redis::Client* redis,
                 metrics::Registry& registry, std::string key_prefix = "ragd:");
  ~CachedEmbedder() override;

  int dim() const override { return inner_->dim(); }
  std::string name() const override { return inner_->name(); }
  std::string model() const override { return inner_->model(); }
  std::uint32_t snapshot_version() const override { return inner_->snapshot_version(); }

  boost::asio::awaitable<Result<std::vector<float>>> embed_query(std::string text) override;
  boost::asio::awaitable<Result<std::vector<float>>> embed_documents(std::vector<std::string> texts) override;
  Result<std::vector<float>> embed_documents_sync(std::vector<std::string> texts) override;

  // The cache key (below the prefix) for a query text.
  std::string key_for(std::string_view text) const;
  const cache::TieredCache& tiers() const { return *tiers_; }

 private:
  // key_for() of a text normalize_embedding_text() has already been applied to.
  std::string key_for_normalized(std::string_view normalized) const;

  std::shared_ptr<Embedder> inner_;
  std::int64_t ttl_ms_;
  std::unique_ptr<cache::TieredCache> tiers_;
};

}  // namespace ragd::retrieval
