#include "ragd/core/config.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ragd {

namespace {

using nlohmann::json;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads the members of one JSON object into fields, remembering which keys it consumed so
// that finish() can reject the rest: a misspelt key must fail loudly, not be ignored.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw ConfigError(where("") + " must be an object");
  }

  template <class T>
  void field(const char* key, T& out) {
    seen_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) return;
    read(*it, where(key), out);
  }

  template <class F>
  void object(const char* key, F&& read_members) {
    seen_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) return;
    ObjectReader sub(*it, path_of(key));
    read_members(sub);
    sub.finish();
  }

  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) throw ConfigError("unknown key " + where(it.key()));
    }
  }

  std::string path_of(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  std::string where(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : "'" + path_ + "'";
    return "'" + path_of(key) + "'";
  }

 private:
  static void read(const json& v, const std::string& at, std::string& out) {
    if (!v.is_string()) throw ConfigError(at + " must be a string");
    out = v.get<std::string>();
  }
  static void read(const json& v, const std::string& at, bool& out) {
    if (!v.is_boolean()) throw ConfigError(at + " must be true or false");
    out = v.get<bool>();
  }
  static void read(const json& v, const std::string& at, double& out) {
    if (!v.is_number()) throw ConfigError(at + " must be a number");
    out = v.get<double>();
  }
  template <class I>
    requires std::is_integral_v<I>
  static void read(const json& v, const std::string& at, I& out) {
    if (!v.is_number_integer()) throw ConfigError(at + " must be an integer");
    if constexpr (std::is_unsigned_v<I>) {
      if (v.is_number_unsigned() || v.get<long long>() >= 0) {
        out = v.get<I>();
        return;
      }
      throw ConfigError(at + " must not be negative");
    } else {
      out = v.get<I>();
    }
  }
  static void read(const json& v, const std::string& at, std::vector<std::string>& out) {
    if (!v.is_array()) throw ConfigError(at + " must be an array of strings");
    out.clear();
    for (const auto& e : v) {
      if (!e.is_string()) throw ConfigError(at + " must be an array of strings");
      out.push_back(e.get<std::string>());
    }
  }
  static void read(const json& v, const std::string& at, std::vector<ApiKeyConfig>& out) {
    if (!v.is_array()) throw ConfigError(at + " must be an array");
    out.clear();
    for (std::size_t i = 0; i < v.size(); ++i) {
      // `at` is the quoted path; strip the quotes to nest under it.
      ObjectReader r(v[i], at.substr(1, at.size() - 2) + "[" + std::to_string(i) + "]");
      ApiKeyConfig k;
      r.field("sha256", k.sha256);
      r.field("tenant", k.tenant);
      r.field("name", k.name);
      r.object("rate_limit", [&](ObjectReader& l) {
        RateLimitConfig rl;
        read_rate_limit(l, rl);
        k.rate_limit = rl;
      });
      r.finish();
      if (k.sha256.size() != 64 ||
          k.sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        throw ConfigError(r.where("sha256") + " must be 64 hex digits (SHA-256 of the key)");
      }
      if (k.tenant.empty()) throw ConfigError(r.where("tenant") + " must not be empty");
      out.push_back(std::move(k));
    }
  }

  static void read_rate_limit(ObjectReader& r, RateLimitConfig& c) {
    r.field("requests_per_second", c.requests_per_second);
    r.field("burst", c.burst);
    if (c.requests_per_second < 0 || c.requests_per_second > 1e6) {
      throw ConfigError(r.where("requests_per_second") + " must be 0..1000000");
    }
    if (c.burst < 0 || c.burst > 1000000) throw ConfigError(r.where("burst") + " must be 0..1000000");
  }

 public:
  static void rate_limit(ObjectReader& r, RateLimitConfig& c) { read_rate_limit(r, c); }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

void read_redis(ObjectReader& r, RedisConfig& c) {
  r.field("url", c.url);
  r.field("pool_size", c.pool_size);
  r.field("connect_timeout_ms", c.connect_timeout_ms);
  r.field("command_timeout_ms", c.command_timeout_ms);
  r.field("key_prefix", c.key_prefix);
}

// The queue's keys follow redis.key_prefix, so two deployments sharing one Redis under
// different prefixes never see each other's jobs; an explicit queue.jobs_stream still wins.
void apply_key_prefix(const json& j, const RedisConfig& redis, QueueConfig& q) {
  q.key_prefix = redis.key_prefix;
  const bool stream_set = j.contains("queue") && j["queue"].is_object() && j["queue"].contains("jobs_stream");
  if (!stream_set) q.jobs_stream = redis.key_prefix + "jobs";
}

void read_queue(ObjectReader& r, QueueConfig& c) {
  r.field("jobs_stream", c.jobs_stream);
  r.field("group", c.group);
  r.field("max_depth", c.max_depth);
  r.field("max_depth_refresh", c.max_depth_refresh);
  r.field("max_depth_batch", c.max_depth_batch);
  r.field("max_wait_ms", c.max_wait_ms);
  r.field("max_attempts", c.max_attempts);
  r.field("reclaim_idle_ms", c.reclaim_idle_ms);
  r.field("reply_ttl_ms", c.reply_ttl_ms);
  r.field("heartbeat_interval_ms", c.heartbeat_interval_ms);
  r.field("worker_stale_ms", c.worker_stale_ms);
  r.field("compact_jobs", c.compact_jobs);
}

void read_log(ObjectReader& r, LogConfig& c) {
  r.field("level", c.level);
  r.field("json", c.json);
}

json parse_json(const std::string& text) {
  try {
    return json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    throw ConfigError(std::string("not valid JSON: ") + e.what());
  }
}

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ConfigError& e) {
    return make_error(Errc::bad_request, e.what());
  } catch (const json::exception& e) {
    return make_error(Errc::bad_request, e.what());
  }
}

Result<void> check(bool ok, const char* what) {
  if (ok) return {};
  return make_error(Errc::bad_request, what);
}

bool known_language(const std::string& language) {
  for (const char* name : kAnalyzerLanguages) {
    if (language == name) return true;
  }
  return false;
}

bool valid_log_level(const std::string& l) {
  static const std::set<std::string, std::less<>> kLevels = {"trace", "debug", "info", "warn",
                                                             "error", "critical", "off"};
  return kLevels.count(l) > 0;
}

Result<void> validate_redis(const RedisConfig& r) {
  if (r.url.rfind("redis://", 0) != 0 && r.url.rfind("unix://", 0) != 0) {
    return make_error(Errc::bad_request, "'redis.url' must start with redis:// or unix://");
  }
  if (auto e = check(r.pool_size >= 1 && r.pool_size <= 64, "'redis.pool_size' must be 1..64");
      !e)
    return e;
  return check(r.connect_timeout_ms > 0 && r.command_timeout_ms > 0,
               "'redis' timeouts must be positive");
}

template <class T>
Result<void> parse_env_int(const char* name, T& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return {};
  try {
    std::size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used != std::string_view(v).size()) throw std::invalid_argument(v);
    out = static_cast<T>(n);
  } catch (const std::exception&) {
    return make_error(Errc::bad_request, std::string("environment variable ") + name +
                                             " must be an integer, got '" + v + "'");
  }
  return {};
}

Result<void> parse_env_bool(const char* name, bool& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return {};
  const std::string_view s(v);
  if (s == "1" || s == "true" || s == "on") {
    out = true;
  } else if (s == "0" || s == "false" || s == "off") {
    out = false;
  } else {
    return make_error(Errc::bad_request, std::string("environment variable ") + name +
                                             " must be on or off (true/false, 1/0), got '" + v + "'");
  }
  return {};
}

void env_string(const char* name, std::string& out) {
  if (const char* v = std::getenv(name); v && *v) out = v;
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::not_found, "cannot open file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(Errc::internal, "cannot read file '" + path + "'");
  return ss.str();
}

Result<GatewayConfig> parse_gateway_config(const std::string& text) {
  return guarded([&]() -> Result<GatewayConfig> {
    GatewayConfig c;
    json j = parse_json(text);
    ObjectReader r(j, "");
    r.object("server", [&](ObjectReader& s) {
      s.field("listen", c.server.listen);
      s.field("threads", c.server.threads);
      s.field("max_connections", c.server.max_connections);
      s.field("header_limit_bytes", c.server.header_limit_bytes);
      s.field("body_limit_bytes", c.server.body_limit_bytes);
      s.field("read_timeout_ms", c.server.read_timeout_ms);
      s.field("idle_timeout_ms", c.server.idle_timeout_ms);
      s.field("request_timeout_ms", c.server.request_timeout_ms);
      s.field("max_inflight", c.server.max_inflight);
      s.field("gateway_id", c.server.gateway_id);
    });
    r.object("redis", [&](ObjectReader& s) { read_redis(s, c.redis); });
    r.object("auth", [&](ObjectReader& s) {
      s.field("api_keys", c.auth.api_keys);
      s.object("rate_limit", [&](ObjectReader& l) { ObjectReader::rate_limit(l, c.auth.rate_limit); });
    });
    r.object("query", [&](ObjectReader& s) {
      s.field("max_query_chars", c.query.max_query_chars);
      s.field("default_top_k", c.query.default_top_k);
      s.field("max_top_k", c.query.max_top_k);
      s.field("max_id_chars", c.query.max_id_chars);
    });
    r.object("retrieval", [&](ObjectReader& s) {
      s.field("embedding_dim", c.retrieval.embedding_dim);
      s.object("embedder", [&](ObjectReader& e) {
        EmbedderConfig& ec = c.retrieval.embedder;
        e.field("base_url", ec.base_url);
        e.field("model", ec.model);
        e.field("api_key_env", ec.api_key_env);
        e.field("dim", ec.dim);
        e.field("batch", ec.batch);
        e.field("max_inflight", ec.max_inflight);
        e.field("timeout_ms", ec.timeout_ms);
        e.field("max_attempts", ec.max_attempts);
        e.object("cache", [&](ObjectReader& k) {
          k.field("enabled", ec.cache.enabled);
          k.field("l1_max_entries", ec.cache.l1_max_entries);
          k.field("l1_max_bytes", ec.cache.l1_max_bytes);
          k.field("l2_enabled", ec.cache.l2_enabled);
          k.field("l2_ttl_ms", ec.cache.l2_ttl_ms);
        });
      });
      s.field("search_threads", c.retrieval.search_threads);
      s.object("index", [&](ObjectReader& x) {
        x.field("type", c.retrieval.index.type);
        x.field("hnsw_m", c.retrieval.index.hnsw_m);
        x.field("hnsw_ef_construction", c.retrieval.index.hnsw_ef_construction);
        x.field("hnsw_ef_search", c.retrieval.index.hnsw_ef_search);
        x.field("rebuild_deleted_fraction", c.retrieval.index.rebuild_deleted_fraction);
        x.field("ivf_nlist", c.retrieval.index.ivf_nlist);
        x.field("ivf_nprobe", c.retrieval.index.ivf_nprobe);
        x.field("ivf_train_size", c.retrieval.index.ivf_train_size);
      });
      s.field("timeout_ms", c.retrieval.timeout_ms);
      s.field("max_documents_per_request", c.retrieval.max_documents_per_request);
      s.field("max_document_chars", c.retrieval.max_document_chars);
      s.object("chunker", [&](ObjectReader& k) {
        k.field("target_chars", c.retrieval.chunker.target_chars);
        k.field("overlap_chars", c.retrieval.chunker.overlap_chars);
      });
      s.field("mode", c.retrieval.mode);
      s.object("analyzer", [&](ObjectReader& a) {
        a.field("language", c.retrieval.analyzer.language);
        a.field("stop_words", c.retrieval.analyzer.stop_words);
      });
      s.field("fusion", c.retrieval.fusion);
      s.field("rrf_k", c.retrieval.rrf_k);
      s.field("dense_weight", c.retrieval.dense_weight);
      s.field("candidates", c.retrieval.candidates);
      s.field("bm25_k1", c.retrieval.bm25_k1);
      s.field("bm25_b", c.retrieval.bm25_b);
      s.field("snapshot_path", c.retrieval.snapshot_path);
      s.field("snapshot_interval_ms", c.retrieval.snapshot_interval_ms);
      s.field("batch_searches", c.retrieval.batch_searches);
      s.object("replication", [&](ObjectReader& x) {
        x.field("enabled", c.retrieval.replication.enabled);
        x.field("max_entries", c.retrieval.replication.max_entries);
        x.field("apply_timeout_ms", c.retrieval.replication.apply_timeout_ms);
        x.field("batch", c.retrieval.replication.batch);
      });
    });
    r.object("profile", [&](ObjectReader& s) {
      s.field("timeout_ms", c.profile.timeout_ms);
      s.field("prompt_fields", c.profile.prompt_fields);
    });
    r.object("queue", [&](ObjectReader& s) { read_queue(s, c.queue); });
    r.object("rules", [&](ObjectReader& s) { s.field("file", c.rules.file); });
    r.object("readiness", [&](ObjectReader& s) { s.field("require_workers", c.readiness.require_workers); });
    r.object("cache", [&](ObjectReader& s) {
      s.field("enabled", c.cache.enabled);
      s.field("l2_enabled", c.cache.l2_enabled);
      s.field("soft_ttl_ms", c.cache.soft_ttl_ms);
      s.field("hard_ttl_ms", c.cache.hard_ttl_ms);
      s.field("l1_max_entries", c.cache.l1_max_entries);
      s.field("l1_max_bytes", c.cache.l1_max_bytes);
      s.field("refresh_lock_ms", c.cache.refresh_lock_ms);
      s.field("profile_ttl_ms", c.cache.profile_ttl_ms);
      s.field("session_turns", c.cache.session_turns);
      s.field("session_l1_max_entries", c.cache.session_l1_max_entries);
      s.field("session_ttl_ms", c.cache.session_ttl_ms);
    });
    r.object("log", [&](ObjectReader& s) { read_log(s, c.log); });
    r.field("model", c.model);
    r.finish();
    apply_key_prefix(j, c.redis, c.queue);
    return c;
  });
}

Result<WorkerConfig> parse_worker_config(const std::string& text) {
  return guarded([&]() -> Result<WorkerConfig> {
    WorkerConfig c;
    json j = parse_json(text);
    ObjectReader r(j, "");
    r.object("redis", [&](ObjectReader& s) { read_redis(s, c.redis); });
    r.object("queue", [&](ObjectReader& s) { read_queue(s, c.queue); });
    r.object("llm", [&](ObjectReader& s) {
      s.field("base_url", c.llm.base_url);
      s.field("model", c.llm.model);
      s.field("api_key", c.llm.api_key);
      s.field("timeout_ms", c.llm.timeout_ms);
      s.field("max_tokens", c.llm.max_tokens);
      s.field("temperature", c.llm.temperature);
      s.field("max_attempts", c.llm.max_attempts);
      s.field("max_idle_connections", c.llm.max_idle_connections);
    });
    r.object("log", [&](ObjectReader& s) { read_log(s, c.log); });
    r.field("concurrency", c.concurrency);
    r.field("consumer_name", c.consumer_name);
    r.field("metrics_listen", c.metrics_listen);
    r.finish();
    apply_key_prefix(j, c.redis, c.queue);
    return c;
  });
}

Result<GatewayConfig> load_gateway_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  auto c = parse_gateway_config(*text);
  if (!c) return make_error(c.error().code, path + ": " + c.error().message);
  return c;
}

Result<WorkerConfig> load_worker_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  auto c = parse_worker_config(*text);
  if (!c) return make_error(c.error().code, path + ": " + c.error().message);
  return c;
}

Result<void> validate(const GatewayConfig& c) {
  const auto& s = c.server;
  if (s.listen.find(':') == std::string::npos) {
    return make_error(Errc::bad_request, "'server.listen' must be HOST:PORT, got '" + s.listen + "'");
  }
  const std::pair<bool, const char*> checks[] = {
      {s.threads >= 0 && s.threads <= 256, "'server.threads' must be 0..256"},
      {s.max_connections > 0, "'server.max_connections' must be positive"},
      {s.header_limit_bytes >= 1024, "'server.header_limit_bytes' must be at least 1024"},
      {s.body_limit_bytes >= 1024, "'server.body_limit_bytes' must be at least 1024"},
      {s.read_timeout_ms > 0 && s.idle_timeout_ms > 0 && s.request_timeout_ms > 0,
       "'server' timeouts must be positive"},
      {s.max_inflight > 0, "'server.max_inflight' must be positive"},
      {c.query.max_query_chars > 0, "'query.max_query_chars' must be positive"},
      {c.query.max_top_k >= 1 && c.query.max_top_k <= 1000, "'query.max_top_k' must be 1..1000"},
      {c.query.default_top_k >= 1 && c.query.default_top_k <= c.query.max_top_k,
       "'query.default_top_k' must be 1..max_top_k"},
      {c.retrieval.embedding_dim >= 8 && c.retrieval.embedding_dim <= 8192,
       "'retrieval.embedding_dim' must be 8..8192"},
      {c.retrieval.search_threads >= 1 && c.retrieval.search_threads <= 256,
       "'retrieval.search_threads' must be 1..256"},
      {c.retrieval.embedder.base_url.empty() || c.retrieval.embedder.base_url.rfind("http://", 0) == 0 ||
           c.retrieval.embedder.base_url.rfind("https://", 0) == 0,
       "'retrieval.embedder.base_url' must start with http:// or https://"},
      {c.retrieval.embedder.dim >= 8 && c.retrieval.embedder.dim <= 16384,
       "'retrieval.embedder.dim' must be 8..16384"},
      {c.retrieval.embedder.batch >= 1 && c.retrieval.embedder.batch <= 2048,
       "'retrieval.embedder.batch' must be 1..2048"},
      {c.retrieval.embedder.max_inflight >= 1 && c.retrieval.embedder.max_inflight <= 256,
       "'retrieval.embedder.max_inflight' must be 1..256"},
      {c.retrieval.embedder.timeout_ms > 0, "'retrieval.embedder.timeout_ms' must be positive"},
      {c.retrieval.embedder.max_attempts >= 1 && c.retrieval.embedder.max_attempts <= 20,
       "'retrieval.embedder.max_attempts' must be 1..20"},
      {c.retrieval.embedder.cache.l1_max_entries > 0 && c.retrieval.embedder.cache.l1_max_bytes >= 4096,
       "'retrieval.embedder.cache.l1_max_entries' must be positive and l1_max_bytes at least 4096"},
      {c.retrieval.embedder.cache.l2_ttl_ms > 0, "'retrieval.embedder.cache.l2_ttl_ms' must be positive"},
      {c.retrieval.index.type == "flat" || c.retrieval.index.type == "hnsw" || c.retrieval.index.type == "ivf",
       "'retrieval.index.type' must be \"flat\", \"hnsw\" or \"ivf\""},
      {c.retrieval.index.hnsw_m >= 4 && c.retrieval.index.hnsw_m <= 256, "'retrieval.index.hnsw_m' must be 4..256"},
      {c.retrieval.index.hnsw_ef_construction >= 8 && c.retrieval.index.hnsw_ef_construction <= 4096,
       "'retrieval.index.hnsw_ef_construction' must be 8..4096"},
      {c.retrieval.index.hnsw_ef_search >= 1 && c.retrieval.index.hnsw_ef_search <= 4096,
       "'retrieval.index.hnsw_ef_search' must be 1..4096"},
      {c.retrieval.index.rebuild_deleted_fraction > 0.0 && c.retrieval.index.rebuild_deleted_fraction <= 1.0,
       "'retrieval.index.rebuild_deleted_fraction' must be in (0, 1]"},
      {c.retrieval.index.ivf_nlist >= 1 && c.retrieval.index.ivf_nlist <= 1 << 20,
       "'retrieval.index.ivf_nlist' must be 1..1048576"},
      {c.retrieval.index.ivf_nprobe >= 1 && c.retrieval.index.ivf_nprobe <= c.retrieval.index.ivf_nlist,
       "'retrieval.index.ivf_nprobe' must be 1..ivf_nlist"},
      {c.retrieval.index.ivf_train_size == 0 ||
           c.retrieval.index.ivf_train_size >= static_cast<std::size_t>(c.retrieval.index.ivf_nlist),
       "'retrieval.index.ivf_train_size' must be 0 (auto) or at least ivf_nlist"},
      {c.retrieval.chunker.target_chars >= 50, "'retrieval.chunker.target_chars' must be at least 50"},
      {c.retrieval.chunker.overlap_chars < c.retrieval.chunker.target_chars,
       "'retrieval.chunker.overlap_chars' must be below target_chars"},
      {c.retrieval.mode == "dense" || c.retrieval.mode == "lexical" || c.retrieval.mode == "hybrid",
       "'retrieval.mode' must be \"dense\", \"lexical\" or \"hybrid\""},
      {c.retrieval.rrf_k > 0.0 && c.retrieval.rrf_k <= 10000.0, "'retrieval.rrf_k' must be in (0, 10000]"},
      {known_language(c.retrieval.analyzer.language),
       "'retrieval.analyzer.language' must be \"english\", \"french\", \"german\" or \"spanish\""},
      {c.retrieval.fusion == "rrf" || c.retrieval.fusion == "convex",
       "'retrieval.fusion' must be \"rrf\" or \"convex\""},
      {c.retrieval.dense_weight >= 0.0 && c.retrieval.dense_weight <= 100.0,
       "'retrieval.dense_weight' must be 0..100"},
      {c.retrieval.candidates >= 1 && c.retrieval.candidates <= 10000,
       "'retrieval.candidates' must be 1..10000"},
      {c.retrieval.bm25_k1 >= 0.0 && c.retrieval.bm25_k1 <= 10.0, "'retrieval.bm25_k1' must be 0..10"},
      {c.retrieval.bm25_b >= 0.0 && c.retrieval.bm25_b <= 1.0, "'retrieval.bm25_b' must be 0..1"},
      {c.retrieval.snapshot_interval_ms >= 0, "'retrieval.snapshot_interval_ms' must not be negative"},
      {c.retrieval.replication.max_entries >= 1, "'retrieval.replication.max_entries' must be positive"},
      {c.retrieval.replication.apply_timeout_ms > 0, "'retrieval.replication.apply_timeout_ms' must be positive"},
      {c.retrieval.replication.batch >= 1 && c.retrieval.replication.batch <= 10000,
       "'retrieval.replication.batch' must be 1..10000"},
      {c.queue.max_depth > 0, "'queue.max_depth' must be positive"},
      {c.queue.max_wait_ms >= 0, "'queue.max_wait_ms' must be 0 (off) or positive"},
      {c.queue.max_depth_refresh > 0 && c.queue.max_depth_batch > 0,
       "'queue.max_depth_refresh' and 'queue.max_depth_batch' must be positive"},
      {c.queue.max_attempts >= 1 && c.queue.max_attempts <= 100, "'queue.max_attempts' must be 1..100"},
      {c.queue.reclaim_idle_ms >= 0, "'queue.reclaim_idle_ms' must not be negative"},
      {c.queue.worker_stale_ms > 0 && c.queue.heartbeat_interval_ms > 0,
       "'queue' intervals must be positive"},
      {valid_log_level(c.log.level), "'log.level' must be trace, debug, info, warn, error or off"},
      {c.cache.soft_ttl_ms > 0, "'cache.soft_ttl_ms' must be positive"},
      {c.cache.hard_ttl_ms >= c.cache.soft_ttl_ms, "'cache.hard_ttl_ms' must be at least soft_ttl_ms"},
      {c.cache.l1_max_entries > 0 && c.cache.l1_max_bytes >= 4096,
       "'cache.l1_max_entries' must be positive and 'cache.l1_max_bytes' at least 4096"},
      {c.cache.refresh_lock_ms > 0, "'cache.refresh_lock_ms' must be positive"},
      {c.cache.profile_ttl_ms >= 0, "'cache.profile_ttl_ms' must not be negative"},
      {c.cache.session_turns >= 0 && c.cache.session_turns <= 100, "'cache.session_turns' must be 0..100"},
      {c.cache.session_ttl_ms > 0, "'cache.session_ttl_ms' must be positive"},
  };
  for (const auto& [ok, what] : checks) {
    if (auto e = check(ok, what); !e) return e;
  }
  return validate_redis(c.redis);
}

Result<void> validate(const WorkerConfig& c) {
  const std::pair<bool, const char*> checks[] = {
      {c.concurrency >= 1 && c.concurrency <= 4096, "'concurrency' must be 1..4096"},
      {c.queue.max_attempts >= 1 && c.queue.max_attempts <= 100, "'queue.max_attempts' must be 1..100"},
      {c.queue.reclaim_idle_ms == 0 || c.queue.reclaim_idle_ms >= 300,
       "'queue.reclaim_idle_ms' must be 0 (off) or at least 300"},
      {c.queue.heartbeat_interval_ms > 0, "'queue.heartbeat_interval_ms' must be positive"},
      {c.llm.timeout_ms > 0, "'llm.timeout_ms' must be positive"},
      {c.llm.max_attempts >= 1 && c.llm.max_attempts <= 20, "'llm.max_attempts' must be 1..20"},
      {c.llm.max_idle_connections >= 0 && c.llm.max_idle_connections <= 65536,
       "'llm.max_idle_connections' must be 0..65536"},
      {c.llm.base_url.empty() || c.llm.base_url.rfind("http://", 0) == 0 ||
           c.llm.base_url.rfind("https://", 0) == 0,
       "'llm.base_url' must start with http:// or https://"},
      {valid_log_level(c.log.level), "'log.level' must be trace, debug, info, warn, error or off"},
  };
  for (const auto& [ok, what] : checks) {
    if (auto e = check(ok, what); !e) return e;
  }
  return validate_redis(c.redis);
}

Result<void> apply_gateway_env(GatewayConfig& c) {
  env_string("RAGD_LISTEN", c.server.listen);
  env_string("RAGD_REDIS_URL", c.redis.url);
  env_string("RAGD_LOG_LEVEL", c.log.level);
  env_string("RAGD_RULES_FILE", c.rules.file);
  env_string("RAGD_LLM_MODEL", c.model);
  env_string("RAGD_SNAPSHOT_PATH", c.retrieval.snapshot_path);
  env_string("RAGD_EMBED_BASE_URL", c.retrieval.embedder.base_url);
  env_string("RAGD_EMBED_MODEL", c.retrieval.embedder.model);
  if (auto r = parse_env_int("RAGD_EMBED_DIM", c.retrieval.embedder.dim); !r) return r;
  if (auto r = parse_env_bool("RAGD_REPLICATION", c.retrieval.replication.enabled); !r) return r;
  if (auto r = parse_env_bool("RAGD_READINESS_REQUIRE_WORKERS", c.readiness.require_workers); !r) return r;
  env_string("RAGD_INDEX_TYPE", c.retrieval.index.type);
  env_string("RAGD_ANALYZER_LANGUAGE", c.retrieval.analyzer.language);
  if (auto r = parse_env_int("RAGD_THREADS", c.server.threads); !r) return r;
  return parse_env_int("RAGD_REQUEST_TIMEOUT_MS", c.server.request_timeout_ms);
}

Result<void> apply_worker_env(WorkerConfig& c) {
  env_string("RAGD_REDIS_URL", c.redis.url);
  env_string("RAGD_LOG_LEVEL", c.log.level);
  env_string("RAGD_LLM_BASE_URL", c.llm.base_url);
  env_string("RAGD_LLM_MODEL", c.llm.model);
  env_string("RAGD_LLM_API_KEY", c.llm.api_key);
  env_string("RAGD_WORKER_METRICS_LISTEN", c.metrics_listen);
  if (auto r = parse_env_int("RAGD_WORKER_CONCURRENCY", c.concurrency); !r) return r;
  return parse_env_int("RAGD_LLM_TIMEOUT_MS", c.llm.timeout_ms);
}

}  // namespace ragd
