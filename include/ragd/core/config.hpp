// Configuration as plain structs. One JSON file (comments allowed) is parsed at start-up;
// unknown keys and wrong types are errors naming the key; environment variables override
// the file and command-line flags override both (the mains apply those). Components get
// their own slice in their constructor. Plain values: copy freely, no shared state.
#pragma once

#include "ragd/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ragd {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int threads = 0;                        // I/O threads; 0 = see http::io_threads()
  int max_connections = 10000;            // open connections; past it new ones are refused
  std::size_t header_limit_bytes = 16 * 1024;
  std::size_t body_limit_bytes = 1024 * 1024;
  int read_timeout_ms = 10000;            // whole request must arrive within this
  int idle_timeout_ms = 60000;            // keep-alive connection with no request
  int request_timeout_ms = 30000;         // deadline of one query, end to end
  int max_inflight = 4096;                // queries being processed; past it 503
  std::string gateway_id;                 // empty = generated at start
};

struct RedisConfig {
  std::string url = "redis://127.0.0.1:6379";  // redis://host:port[/db] or unix:///path
  int pool_size = 2;                            // pipelined connections for commands
  int connect_timeout_ms = 2000;
  int command_timeout_ms = 2000;
  std::string key_prefix = "ragd:";
};

// A token bucket: `requests_per_second` refill, at most `burst` tokens. 0 rps = no limit.
struct RateLimitConfig {
  double requests_per_second = 0;
  int burst = 0;  // 0 = max(1, requests_per_second)
};

struct ApiKeyConfig {
  std::string sha256;  // hex SHA-256 of the key; the key itself is never stored
  std::string tenant;
  std::string name;
  std::optional<RateLimitConfig> rate_limit;  // overrides auth.rate_limit for this key
};

struct AuthConfig {
  std::vector<ApiKeyConfig> api_keys;  // empty = auth off, one shared tenant
  RateLimitConfig rate_limit;          // per API key, shared by all replicas through Redis
};

struct QueryConfig {
  std::size_t max_query_chars = 4000;
  int default_top_k = 4;
  int max_top_k = 50;
  std::size_t max_id_chars = 128;  // user_id, session_id
};

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
  std::string fusion = "rrf";          // rrf (by rank) or convex (min-max normalised scores)
  double rrf_k = 60.0;                 // reciprocal rank fusion constant
  double dense_weight = 0.1;           // weight of the dense list in the fusion (lexical: 1)
  int candidates = 100;                // per-list depth before fusion in hybrid mode
  double bm25_k1 = 1.2;                // BM25 term-frequency saturation
  double bm25_b = 0.5;                 // BM25 length normalisation
  // fusion, rrf_k, dense_weight, bm25_k1 and bm25_b: chosen on SciFact's train queries
  // (`ragctl tune`, bench/results/2026-12-07-scifact-train-grid.md).
  std::string snapshot_path;           // "" = no persistence
  int snapshot_interval_ms = 2000;     // batch window between a change and its snapshot
  bool batch_searches = true;          // concurrent flat/ivf searches share one FAISS call
  ReplicationConfig replication;
};

struct ProfileConfig {
  int timeout_ms = 100;                 // optional leg: past it the query goes on without
  std::vector<std::string> prompt_fields = {"name", "language", "expertise", "tier"};
};

struct QueueConfig {
  // Every queue key starts with this: the jobs streams (unless jobs_stream is set), worker
  // heartbeats, reply streams, reply-once guards. Not read from the queue section: loading
  // a config copies redis.key_prefix here.
  std::string key_prefix = "ragd:";
  std::string jobs_stream = "ragd:jobs";  // default: <redis.key_prefix>jobs
  std::string group = "ragd-workers";
  std::int64_t max_depth = 10000;      // interactive jobs waiting; past it the gateway sheds with 503
  std::int64_t max_depth_refresh = 1000;   // cache-refresh jobs (stream <jobs_stream>:refresh)
  std::int64_t max_depth_batch = 10000;    // batch jobs (stream <jobs_stream>:batch)
  // Target wait of an interactive job for a worker: each gateway adapts how many of its
  // queries it keeps in the queue so that they wait about this long, and sheds the rest at
  // once with 503 (see queue/admission_limit.hpp). 0 = off (only max_depth applies).
  int max_wait_ms = 0;
  int max_attempts = 3;                // deliveries of one job; past it: dead-letter stream
  int reclaim_idle_ms = 60000;         // a job held this long by a silent worker is taken over
  int reply_ttl_ms = 60000;            // reply streams expire when idle this long
  int heartbeat_interval_ms = 1000;
  int worker_stale_ms = 5000;          // /readyz needs a heartbeat newer than this
  // Jobs carry each passage's text once, in the prompt (see queue::encode_job). Turn off
  // while workers older than this format share the queue.
  bool compact_jobs = true;
};

struct RulesConfig {
  std::string file;  // empty = no rules
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, off
  bool json = false;
};

struct LlmConfig {
  std::string base_url;             // empty = built-in offline generator
  std::string model = "ragd-offline";
  std::string api_key;
  int timeout_ms = 30000;
  int max_tokens = 512;
  double temperature = 0.2;
  int max_attempts = 3;
  // Keep-alive connections to the LLM kept open between calls; 0 = the worker's
  // concurrency (fewer than the calls in flight means a new TCP connection per call).
  int max_idle_connections = 0;
};

struct CacheConfig {
  bool enabled = true;                    // the answer cache (L1 + L2)
  bool l2_enabled = true;                 // share answers between replicas through Redis
  int soft_ttl_ms = 300000;               // fresh for this long
  int hard_ttl_ms = 3600000;              // then served stale (one refresh) until this age
  std::size_t l1_max_entries = 100000;
  std::size_t l1_max_bytes = 256u << 20;
  int refresh_lock_ms = 30000;            // one refresh per key across replicas
  int profile_ttl_ms = 5000;              // profile cache in front of Redis
  int session_turns = 4;                  // turns of history in the prompt and the key
  int session_ttl_ms = 86400000;          // session history expiry in Redis
  std::size_t session_l1_max_entries = 10000;  // sessions mirrored in memory; 0 = read Redis each time
};

// What /readyz requires besides Redis (and, with replication, a caught-up index).
struct ReadinessConfig {
  // A worker heartbeat within queue.worker_stale_ms. Off for deployments that scale workers
  // from zero on queue length: the gateway stays ready and reports the missing workers as
  // a warning, so that the queries which make the autoscaler start workers can arrive.
  bool require_workers = true;
};

struct GatewayConfig {
  ServerConfig server;
  ReadinessConfig readiness;
  RedisConfig redis;
  AuthConfig auth;
  QueryConfig query;
  RetrievalConfig retrieval;
  ProfileConfig profile;
  QueueConfig queue;
  RulesConfig rules;
  CacheConfig cache;
  LogConfig log;
  std::string model;  // model requested on jobs and part of cache keys; "" = the worker's own
};

struct WorkerConfig {
  RedisConfig redis;
  QueueConfig queue;
  LlmConfig llm;
  LogConfig log;
  int concurrency = 32;       // jobs in flight in one worker process
  std::string consumer_name;  // empty = hostname-pid
  // HOST:PORT of the worker's /metrics, /healthz and /readyz; empty = not served.
  std::string metrics_listen;
};

// Parse from JSON text (comments allowed). Errors name the offending key path.
Result<GatewayConfig> parse_gateway_config(const std::string& text);
Result<WorkerConfig> parse_worker_config(const std::string& text);

// Read a file and parse it; the error names the file.
Result<GatewayConfig> load_gateway_config(const std::string& path);
Result<WorkerConfig> load_worker_config(const std::string& path);

// Validate cross-field constraints (ranges, the listen address form).
Result<void> validate(const GatewayConfig& c);
Result<void> validate(const WorkerConfig& c);

// Apply RAGD_* environment variables (documented in config/). Returns an error naming
// the variable when a value does not parse.
Result<void> apply_gateway_env(GatewayConfig& c);
Result<void> apply_worker_env(WorkerConfig& c);

Result<std::string> read_file(const std::string& path);

}  // namespace ragd
