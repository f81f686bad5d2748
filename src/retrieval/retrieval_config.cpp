#include "ragd/retrieval/retrieval_config.hpp"

namespace ragd {

namespace {

void describe_cache(ConfigFields& f, EmbeddingCacheConfig& c) {
  f.field("enabled", c.enabled);
  f.field("l1_max_entries", c.l1_max_entries);
  f.field("l1_max_bytes", c.l1_max_bytes);
  f.field("l2_enabled", c.l2_enabled);
  f.field("l2_ttl_ms", c.l2_ttl_ms);
  f.check(c.l1_max_entries > 0 && c.l1_max_bytes >= 4096, "l1_max_entries",
          "must be positive and l1_max_bytes at least 4096");
  f.check(c.l2_ttl_ms > 0, "l2_ttl_ms", "must be positive");
}

void describe_analyzer(ConfigFields& f, AnalyzerConfig& c) {
  f.field("language", c.language, "RAGD_ANALYZER_LANGUAGE");
  f.field("stop_words", c.stop_words);
  bool known = false;
  for (const char* name : kAnalyzerLanguages) known = known || c.language == name;
  f.check(known, "language", "must be \"english\", \"french\", \"german\" or \"spanish\"");
}

}  // namespace

void describe(ConfigFields& f, EmbedderConfig& c) {
  f.field("base_url", c.base_url, "RAGD_EMBED_BASE_URL");
  f.field("model", c.model, "RAGD_EMBED_MODEL");
  f.field("api_key_env", c.api_key_env);
  f.field("dim", c.dim, "RAGD_EMBED_DIM");
  f.field("batch", c.batch);
  f.field("max_inflight", c.max_inflight);
  f.field("timeout_ms", c.timeout_ms);
  f.field("max_attempts", c.max_attempts);
  f.section("cache", [&](ConfigFields& s) { describe_cache(s, c.cache); });
  f.check(is_http_url_or_empty(c.base_url), "base_url", "must start with http:// or https://");
  f.check(c.dim >= 8 && c.dim <= 16384, "dim", "must be 8..16384");
  f.check(c.batch >= 1 && c.batch <= 2048, "batch", "must be 1..2048");
  f.check(c.max_inflight >= 1 && c.max_inflight <= 256, "max_inflight", "must be 1..256");
  f.check(c.timeout_ms > 0, "timeout_ms", "must be positive");
  f.check(c.max_attempts >= 1 && c.max_attempts <= 20, "max_attempts", "must be 1..20");
}

void describe(ConfigFields& f, IndexConfig& c) {
  f.field("type", c.type, "RAGD_INDEX_TYPE");
  f.field("hnsw_m", c.hnsw_m);
  f.field("hnsw_ef_construction", c.hnsw_ef_construction);
  f.field("hnsw_ef_search", c.hnsw_ef_search);
  f.field("rebuild_deleted_fraction", c.rebuild_deleted_fraction);
  f.field("ivf_nlist", c.ivf_nlist);
  f.field("ivf_nprobe", c.ivf_nprobe);
  f.field("ivf_train_size", c.ivf_train_size);
  f.check(c.type == "flat" || c.type == "hnsw" || c.type == "ivf", "type", "must be \"flat\", \"hnsw\" or \"ivf\"");
  f.check(c.hnsw_m >= 4 && c.hnsw_m <= 256, "hnsw_m", "must be 4..256");
  f.check(c.hnsw_ef_construction >= 8 && c.hnsw_ef_construction <= 4096, "hnsw_ef_construction", "must be 8..4096");
  f.check(c.hnsw_ef_search >= 1 && c.hnsw_ef_search <= 4096, "hnsw_ef_search", "must be 1..4096");
  f.check(c.rebuild_deleted_fraction > 0.0 && c.rebuild_deleted_fraction <= 1.0, "rebuild_deleted_fraction",
          "must be in (0, 1]");
  f.check(c.ivf_nlist >= 1 && c.ivf_nlist <= 1 << 20, "ivf_nlist", "must be 1..1048576");
  f.check(c.ivf_nprobe >= 1 && c.ivf_nprobe <= c.ivf_nlist, "ivf_nprobe", "must be 1..ivf_nlist");
  f.check(c.ivf_train_size == 0 || c.ivf_train_size >= static_cast<std::size_t>(c.ivf_nlist), "ivf_train_size",
          "must be 0 (auto) or at least ivf_nlist");
}

void describe(ConfigFields& f, ChunkerConfig& c) {
  f.field("target_chars", c.target_chars);
  f.field("overlap_chars", c.overlap_chars);
  f.check(c.target_chars >= 50, "target_chars", "must be at least 50");
  f.check(c.overlap_chars < c.target_chars, "overlap_chars", "must be below target_chars");
}

void describe(ConfigFields& f, ReplicationConfig& c) {
  f.field("enabled", c.enabled, "RAGD_REPLICATION");
  f.field("max_entries", c.max_entries);
  f.field("apply_timeout_ms", c.apply_timeout_ms);
  f.field("batch", c.batch);
  f.check(c.max_entries >= 1, "max_entries", "must be positive");
  f.check(c.apply_timeout_ms > 0, "apply_timeout_ms", "must be positive");
  f.check(c.batch >= 1 && c.batch <= 10000, "batch", "must be 1..10000");
}

void describe(ConfigFields& f, RetrievalConfig& c) {
  f.field("embedding_dim", c.embedding_dim);
  f.section("embedder", [&](ConfigFields& s) { describe(s, c.embedder); });
  f.field("search_threads", c.search_threads);
  f.section("index", [&](ConfigFields& s) { describe(s, c.index); });
  f.field("timeout_ms", c.timeout_ms);
  f.field("max_documents_per_request", c.max_documents_per_request);
  f.field("max_document_chars", c.max_document_chars);
  f.section("chunker", [&](ConfigFields& s) { describe(s, c.chunker); });
  f.field("mode", c.mode);
  f.section("analyzer", [&](ConfigFields& s) { describe_analyzer(s, c.analyzer); });
  f.field("fusion", c.fusion);
  f.field("rrf_k", c.rrf_k);
  f.field("dense_weight", c.dense_weight);
  f.field("candidates", c.candidates);
  f.field("bm25_k1", c.bm25_k1);
  f.field("bm25_b", c.bm25_b);
  f.field("bm25_document_weight", c.bm25_document_weight);
  f.field("snapshot_path", c.snapshot_path, "RAGD_SNAPSHOT_PATH");
  f.field("snapshot_interval_ms", c.snapshot_interval_ms);
  f.field("batch_searches", c.batch_searches);
  f.section("replication", [&](ConfigFields& s) { describe(s, c.replication); });
  f.check(c.embedding_dim >= 8 && c.embedding_dim <= 8192, "embedding_dim", "must be 8..8192");
  f.check(c.search_threads >= 1 && c.search_threads <= 256, "search_threads", "must be 1..256");
  f.check(c.mode == "dense" || c.mode == "lexical" || c.mode == "hybrid", "mode",
          "must be \"dense\", \"lexical\" or \"hybrid\"");
  f.check(c.rrf_k > 0.0 && c.rrf_k <= 10000.0, "rrf_k", "must be in (0, 10000]");
  f.check(c.fusion == "rrf" || c.fusion == "convex", "fusion", "must be \"rrf\" or \"convex\"");
  f.check(c.dense_weight >= 0.0 && c.dense_weight <= 100.0, "dense_weight", "must be 0..100");
  f.check(c.candidates >= 1 && c.candidates <= 10000, "candidates", "must be 1..10000");
  f.check(c.bm25_k1 >= 0.0 && c.bm25_k1 <= 10.0, "bm25_k1", "must be 0..10");
  f.check(c.bm25_b >= 0.0 && c.bm25_b <= 1.0, "bm25_b", "must be 0..1");
  f.check(c.bm25_document_weight >= 0.0 && c.bm25_document_weight <= 100.0, "bm25_document_weight",
          "must be 0..100");
  f.check(c.snapshot_interval_ms >= 0, "snapshot_interval_ms", "must not be negative");
}

}  // namespace ragd
