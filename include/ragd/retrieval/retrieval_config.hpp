// The retrieval section: the embedder, the dense index, chunking, fusion, snapshots and
// replication of the corpus between gateway replicas. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace ragd {

// Word normalisation of both search legs (ragd/retrieval/text_analysis.hpp): the Snowball
// stemmer and stop list of `language`.
inline constexpr const char* kAnalyzerLanguages[] = {"english", "french", "german", "spanish"};

struct AnalyzerConfig {
  std::string language = "english";  // one of kAnalyzerLanguages
  bool stop_words = true;            // drop the language's stop words
};

struct ChunkerConfig {
  std::size_t target_chars = 800;
  std::size_t overlap_chars = 120;
};

// The dense index. flat: exact, every vector scanned. hnsw: a graph, approximate, fast at
// any size; deletes are tombstones until a rebuild. ivf: k-means lists, approximate; exact
// (flat) until `train_size` vectors exist, then trained once on them.
struct IndexConfig {
  std::string type = "flat";              // flat | hnsw | ivf
  int hnsw_m = 32;                        // graph degree: recall and memory grow with it
  int hnsw_ef_construction = 64;          // build-time beam: recall and build time
  int hnsw_ef_search = 64;                // query-time beam (at least k): recall and latency
  double rebuild_deleted_fraction = 0.2;  // hnsw: rebuild when tombstones pass this share
  int ivf_nlist = 1024;                   // k-means lists
  int ivf_nprobe = 16;                    // lists scanned per query
  std::size_t ivf_train_size = 0;         // vectors before training; 0 = 39 * nlist
};

// Gateway replicas converge on the same documents: ingests and deletes go through the
// Redis stream <redis.key_prefix>ingest and every replica applies it in order.
struct ReplicationConfig {
  bool enabled = true;              // false = standalone: changes apply to this replica only
  std::int64_t max_entries = 10000; // stream cap (XADD MAXLEN ~); a replica further behind must be reseeded
  int apply_timeout_ms = 10000;     // an ingest or delete waits this long for this replica's own apply
  int batch = 64;                   // entries per read of the stream
};

// Embedding cache in front of a remote embedder: normalized text -> vector, in process
// (L1) and in Redis (L2, shared by replicas). The built-in embedder never uses it.
struct EmbeddingCacheConfig {
  bool enabled = true;
  std::size_t l1_max_entries = 10000;
  std::size_t l1_max_bytes = 64u << 20;
  bool l2_enabled = true;
  int l2_ttl_ms = 7 * 24 * 3600 * 1000;  // vectors are stable: a week
};

// Where vectors come from. base_url "" = the built-in offline hash embedder
// (retrieval.embedding_dim); otherwise POST {base_url}/v1/embeddings of an
// OpenAI-compatible server, which must return `dim` floats per text.
struct EmbedderConfig {
  std::string base_url;
  std::string model = "text-embedding-3-small";
  std::string api_key_env = "RAGD_EMBED_API_KEY";  // names the variable holding the key
  int dim = 1536;
  int batch = 64;                     // texts per request
  int max_inflight = 4;               // requests in flight at once
  int timeout_ms = 10000;             // per attempt; a batch's budget is timeout_ms * max_attempts
  int max_attempts = 3;
  EmbeddingCacheConfig cache;
};

struct RetrievalConfig {
  int embedding_dim = 1024;            // fewer hash collisions than 384: +0.08 dense nDCG@10
  EmbedderConfig embedder;
  int search_threads = 2;              // worker pool for FAISS search and indexing
  IndexConfig index;
  int timeout_ms = 2000;               // deadline of the retrieval leg
  ChunkerConfig chunker;
  std::size_t max_documents_per_request = 1000;
  std::size_t max_document_chars = 2 * 1024 * 1024;
  std::string mode = "hybrid";         // dense, lexical or hybrid (both lists, fused)
  AnalyzerConfig analyzer;
  std::string fusion = "convex";       // rrf (by rank) or convex (min-max normalised scores)
  double rrf_k = 60.0;                 // reciprocal rank fusion constant
  double dense_weight = 0.5;           // weight of the dense list in the fusion (lexical: 1)
  int candidates = 100;                // per-list depth before fusion in hybrid mode
  double bm25_k1 = 1.2;                // BM25 term-frequency saturation
  double bm25_b = 0.5;                 // BM25 length normalisation
  double bm25_document_weight = 1.0;   // weight of a chunk's document's BM25 score (bm25_index.hpp)
  // fusion, rrf_k, dense_weight, bm25_k1, bm25_b and bm25_document_weight: chosen on
  // SciFact's train queries (`ragctl tune`, bench/results/2026-12-07-scifact-document-bm25.md).
  std::string snapshot_path;           // "" = no persistence
  int snapshot_interval_ms = 2000;     // batch window between a change and its snapshot
  bool batch_searches = true;          // concurrent flat/ivf searches share one FAISS call
  ReplicationConfig replication;
};

// The whole section with its nested objects (embedder, embedder.cache, index, chunker,
// analyzer, replication). Env: RAGD_SNAPSHOT_PATH, RAGD_EMBED_BASE_URL, RAGD_EMBED_MODEL,
// RAGD_EMBED_DIM, RAGD_INDEX_TYPE, RAGD_ANALYZER_LANGUAGE, RAGD_REPLICATION.
void describe(ConfigFields& f, RetrievalConfig& c);
void describe(ConfigFields& f, EmbedderConfig& c);
void describe(ConfigFields& f, IndexConfig& c);
void describe(ConfigFields& f, ChunkerConfig& c);
void describe(ConfigFields& f, ReplicationConfig& c);

}  // namespace ragd
