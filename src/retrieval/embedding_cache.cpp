#include "ragd/retrieval/embedding_cache.hpp"

#include "ragd/cache/tiered_cache.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"

#include <cstring>

namespace ragd::retrieval {

namespace asio = boost::asio;

std::string normalize_embedding_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string encode_vector(const std::vector<float>& v) {
  std::string bytes(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

std::optional<std::vector<float>> decode_vector(std::string_view bytes, int dim) {
  if (dim < 1 || bytes.size() != static_cast<std::size_t>(dim) * sizeof(float)) return std::nullopt;
  std::vector<float> v(static_cast<std::size_t>(dim));
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

CachedEmbedder::CachedEmbedder(std::shared_ptr<Embedder> inner, const EmbeddingCacheConfig& cfg,
                               redis::Client* redis, metrics::Registry& registry, std::string key_prefix)
    : inner_(std::move(inner)),
      ttl_ms_(cfg.l2_ttl_ms),
      tiers_(std::make_unique<cache::TieredCache>(
          "embedding", cfg.l2_enabled ? redis : nullptr,
          cache::LruCache::Options{cfg.l1_max_entries, cfg.l1_max_bytes, 16}, registry, std::move(key_prefix))) {}

CachedEmbedder::~CachedEmbedder() = default;

std::string CachedEmbedder::key_for(std::string_view text) const {
  return key_for_normalized(normalize_embedding_text(text));
}

std::string CachedEmbedder::key_for_normalized(std::string_view normalized) const {
  return inner_->identity() + ":" + sha256_hex(normalized);
}

asio::awaitable<Result<std::vector<float>>> CachedEmbedder::embed_query(std::string text) {
  std::string normalized = normalize_embedding_text(text);
  std::string key = key_for_normalized(normalized);
  const int d = dim();
  auto found = co_await tiers_->get(key);
  if (found.entry) {
    if (auto v = decode_vector(found.entry->value, d)) co_return std::move(*v);
  }
  auto vec = co_await inner_->embed_query(std::move(normalized));
  if (!vec) co_return vec;
  auto entry = std::make_shared<cache::CacheEntry>();
  entry->value = encode_vector(*vec);
  entry->created_unix_ms = unix_ms();
  entry->fresh_until_ms = entry->created_unix_ms + ttl_ms_;
  entry->stale_until_ms = entry->fresh_until_ms;
  std::shared_ptr<const cache::CacheEntry> stored = std::move(entry);
  co_await tiers_->put(std::move(key), std::move(stored));
  co_return vec;
}

asio::awaitable<Result<std::vector<float>>> CachedEmbedder::embed_documents(std::vector<std::string> texts) {
  co_return co_await inner_->embed_documents(std::move(texts));
}

Result<std::vector<float>> CachedEmbedder::embed_documents_sync(std::vector<std::string> texts) {
  return inner_->embed_documents_sync(std::move(texts));
}

}  // namespace ragd::retrieval
