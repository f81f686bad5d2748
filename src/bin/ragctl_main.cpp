// ragctl: the operators' command line. Talks to a running ragd over HTTP, or works offline.
//   ragctl ingest PATH... [--server URL]   send .md/.txt files, folders or JSONL to ragd
//   ragctl ingest PATH... --snapshot FILE  index them into a snapshot file, offline
//   ragctl query TEXT [--server URL]       ask a question, print the answer and sources
//   ragctl health [--server URL]           print /readyz
//   ragctl eval --data DIR                 retrieval quality on a BEIR set, locally
//   ragctl tune --data DIR --split train   the grid the retrieval defaults were chosen on
// The offline commands embed with the built-in embedder or, like ragd, with a remote
// OpenAI-compatible one (--embed-url or RAGD_EMBED_BASE_URL), so that a snapshot built here
// loads into a server with the same embedder as is, and eval measures that embedder.
// The file is long (about 580 lines) because ingest, query, eval and tune share what they
// stand on: the server target and key, the collection of files into documents, and the
// offline retrieval built from flags. The commands that share nothing with them have their
// own files: keys (ragctl_keys.cpp), queue (ragctl_queue.cpp), Redis (ragctl_redis.cpp).
#include "ragctl_keys.hpp"
#include "ragctl_queue.hpp"
#include "ragd/core/cli.hpp"
#include "ragd/http/gateway_config.hpp"
#include "ragd/net/blocking_http.hpp"
#include "ragd/redis/tenant_keys.hpp"
#include "ragd/retrieval/evaluation.hpp"
#include "ragd/retrieval/remote_embedder.hpp"
#include "ragd/retrieval/retriever.hpp"
#include "ragd/retrieval/tuning.hpp"

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<ragd::FlagSpec> kFlags = {
    {"server", true, "ragd base URL (env RAGD_SERVER; default http://127.0.0.1:8080)", "URL"},
    {"api-key", true, "API key (env RAGD_API_KEY)", "KEY"},
    {"batch", true, "documents per request when ingesting (default 64)", "N"},
    {"user", true, "user id for query", "ID"},
    {"session", true, "session id for query", "ID"},
    {"top-k", true, "passages to retrieve for query", "N"},
    {"json", false, "print the raw JSON response"},
    {"data", true, "eval, tune: BEIR folder (corpus.jsonl[.gz], queries.jsonl, qrels/)", "DIR"},
    {"split", true, "eval, tune: qrels split, train or test (default test; tune: train)", "NAME"},
    {"modes", true, "eval: comma-separated dense,lexical,hybrid (default all)", "LIST"},
    {"limit-queries", true, "eval, tune: only the first N judged queries", "N"},
    {"config", true, "eval, tune, ingest --snapshot: take the retrieval settings from this gateway config", "FILE"},
    {"snapshot", true, "ingest: build or update this index snapshot offline instead of sending to a server", "FILE"},
    {"embed-url", true, "eval, ingest --snapshot: OpenAI-compatible embedding service base URL (env RAGD_EMBED_BASE_URL; default: the built-in embedder)", "URL"},
    {"embed-model", true, "its model (env RAGD_EMBED_MODEL; default text-embedding-3-small)", "NAME"},
    {"embed-dim", true, "its vector size (env RAGD_EMBED_DIM; default 1536)", "N"},
    {"embed-api-key", true, "its key (env RAGD_EMBED_API_KEY, or the variable retrieval.embedder.api_key_env names)", "KEY"},
    {"redis", true, "queue, keys: Redis URL (env RAGD_REDIS_URL; default redis://127.0.0.1:6379)", "URL"},
    {"key-prefix", true, "queue, keys: the deployment's redis.key_prefix (default ragd:)", "PREFIX"},
    {"tenant", true, "keys create: the key's tenant; keys list: only this tenant's keys; ingest --snapshot: the documents' tenant (default: default)", "NAME"},
    {"name", true, "keys create: what the key is for (1-64 characters)", "NAME"},
    {"scopes", true, "keys create: comma-separated query,documents:read,documents:write,admin", "LIST"},
    {"expires", true, "keys create: lifetime, e.g. 30d, 12h, 90m (default: never)", "DURATION"},
    {"rate", true, "keys create: the key's own rate limit, e.g. 50/s, 600/m (default: auth.rate_limit)", "RATE"},
    {"limit", true, "queue dead-letters list: how many (default 20)", "N"},
    {"all", false, "queue dead-letters replay|drop: every dead letter"},
    {"deadline-ms", true, "queue dead-letters replay: the replayed job's deadline from now (default 60000)", "MS"},
    {"help", false, "show this help and exit"},
    {"version", false, "show the version and exit"},
};

constexpr const char* kUsage =
    "Usage: ragctl COMMAND [args] [flags]\n\n"
    "Commands:\n"
    "  ingest PATH...   index .md/.txt files, folders of them, or JSONL files\n"
    "                   (one {\"id\"|\"_id\", \"title\", \"text\"} object per line) on the server;\n"
    "                   with --snapshot FILE, into that snapshot file offline instead (no\n"
    "                   server; an existing file is updated): start ragd with\n"
    "                   retrieval.snapshot_path FILE and the same embedder to serve it\n"
    "  query TEXT       ask ragd a question and print the answer with its sources\n"
    "  health           print ragd's readiness\n"
    "  eval --data DIR  run a BEIR set through the retrieval path locally (no server) and\n"
    "                   print nDCG@10, Recall@100 and ms/query per search mode, with the\n"
    "                   analyser, BM25 and fusion settings used (--split train|test)\n"
    "  tune --data DIR  try a grid of stop words, BM25 k1/b/document weight and fusion on a split\n"
    "                   (default train; built-in embedder) and print it as Markdown, best\n"
    "                   hybrid nDCG@10 first: how the retrieval defaults were chosen\n"
    "  queue stats      depth, pending per consumer and oldest age per priority, dead\n"
    "                   letters and worker heartbeats (--redis URL, --json)\n"
    "  queue dead-letters list|replay ENTRY_ID|drop ENTRY_ID  (--all for every one)\n"
    "  keys create --tenant T --scopes LIST --name N [--expires 30d] [--rate 50/s]\n"
    "                   make an API key in Redis and print it (shown this once)\n"
    "  keys list [--tenant T]   the keys in Redis: id, tenant, name, scopes, status\n"
    "  keys revoke ID   refuse this key on every gateway within auth.key_cache_ms\n\n"
    "Embedder (eval, ingest --snapshot): the built-in one, or with --embed-url an\n"
    "OpenAI-compatible /v1/embeddings service, as ragd's retrieval.embedder. Flags win over\n"
    "RAGD_EMBED_BASE_URL, RAGD_EMBED_MODEL, RAGD_EMBED_DIM and RAGD_EMBED_API_KEY, which win\n"
    "over --config. A snapshot loads into ragd as is only when the embedder (model and dim)\n"
    "is the same; otherwise ragd re-embeds every chunk at start.\n\nFlags:\n";

int fail(const std::string& message, int code = 2) {
  std::cerr << "ragctl: " << message << "\n";
  return code;
}

struct Target {
  std::string host;
  std::string port;
};

ragd::Result<Target> parse_server(const std::string& url) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos) return ragd::make_error(ragd::Errc::bad_request, "--server must be an http:// URL");
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return Target{rest, "80"};
  return Target{rest.substr(0, colon), rest.substr(colon + 1)};
}

struct HttpReply {
  int status = 0;
  std::string body;
};

ragd::Result<HttpReply> call(const Target& t, const std::string& method, const std::string& path,
                             const std::string& body, const std::string& api_key) {
  ragd::net::BlockingRequest req;
  req.host = t.host;
  req.port = t.port;
  req.method = method;
  req.target = path;
  req.body = body;
  req.timeout = std::chrono::seconds(120);
  req.headers = {{"User-Agent", "ragctl/" RAGD_VERSION}};
  if (!api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + api_key);
  auto r = ragd::net::blocking_request(req);
  if (!r) return ragd::make_error(ragd::Errc::unavailable, "cannot reach ragd: " + ragd::log_text(r.error()));
  return HttpReply{r->status, std::move(r->body)};
}

std::string error_message(const HttpReply& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    return "HTTP " + std::to_string(r.status) + ": " + j["error"].value("message", r.body);
  }
  return "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300);
}

std::string title_of(const std::string& text, const fs::path& file) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) return line.substr(2);
    if (!line.empty() && line.find_first_not_of(" \t") != std::string::npos) break;
  }
  return file.stem().string();
}

// Collects documents from files, folders (recursively: .md, .markdown, .txt) and JSONL.
ragd::Result<std::vector<json>> collect(const std::vector<std::string>& paths) {
  std::vector<json> docs;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return ragd::make_error(ragd::Errc::not_found, "no such file or folder: " + p);
    std::vector<fs::path> files;
    if (fs::is_directory(p, ec)) {
      for (auto& e : fs::recursive_directory_iterator(p, ec)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".md" || ext == ".markdown" || ext == ".txt")) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.emplace_back(p);
    }
    for (const auto& f : files) {
      auto text = ragd::read_file(f.string());
      if (!text) return text.error();
      if (f.extension() == ".jsonl") {
        std::istringstream in(*text);
        std::string line;
        int n = 0;
        while (std::getline(in, line)) {
          ++n;
          if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
          auto j = json::parse(line, nullptr, false);
          std::string where = f.string() + ":" + std::to_string(n);
          if (!j.is_object()) return ragd::make_error(ragd::Errc::bad_request, where + ": not a JSON object");
          json id = j.contains("id") ? j["id"] : j.value("_id", json());
          if (id.is_number()) id = id.dump();
          if (!id.is_string() || !j.contains("text") || !j["text"].is_string()) {
            return ragd::make_error(ragd::Errc::bad_request, where + ": needs string \"id\" (or \"_id\") and \"text\"");
          }
          json doc = {{"id", id}, {"title", j.value("title", "")}, {"text", j["text"]}};
          if (j.contains("metadata")) doc["metadata"] = j["metadata"];  // the server validates it
          docs.push_back(std::move(doc));
        }
      } else {
        std::string id = fs::is_directory(p) ? fs::relative(f, p).string() : f.filename().string();
        docs.push_back({{"id", id}, {"title", title_of(*text, f)}, {"text", *text}});
      }
    }
  }
  return docs;
}

// The retrieval settings of the offline commands: --config's retrieval section, with the
// embedder taken, as ragd takes it, from the flags first, then the RAGD_EMBED_* variables,
// then the file. Vectors made here then match a server configured the same way.
struct ToolRetrieval {
  ragd::RetrievalConfig config;
  std::string embed_api_key;
};

ragd::Result<ToolRetrieval> tool_retrieval(const ragd::ParsedFlags& flags) {
  ragd::GatewayConfig gateway;
  if (auto path = flags.get("config")) {
    auto loaded = ragd::load_gateway_config(*path);
    if (!loaded) return loaded.error();
    gateway = std::move(*loaded);
  }
  // ragd's own reading of the environment; only the embedder and the analyser are taken
  // from it (both decide what a snapshot's vectors are).
  ragd::GatewayConfig from_env = gateway;
  if (auto r = ragd::apply_gateway_env(from_env); !r) return r.error();
  gateway.retrieval.analyzer.language = from_env.retrieval.analyzer.language;
  ragd::EmbedderConfig& e = gateway.retrieval.embedder;
  e.base_url = from_env.retrieval.embedder.base_url;
  e.model = from_env.retrieval.embedder.model;
  e.dim = from_env.retrieval.embedder.dim;
  if (auto v = flags.get("embed-url")) e.base_url = *v;
  if (auto v = flags.get("embed-model")) e.model = *v;
  if (auto v = flags.get("embed-dim")) {
    char* end = nullptr;
    const long dim = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || dim < 8 || dim > 16384) {
      return ragd::make_error(ragd::Errc::bad_request, "--embed-dim must be a whole number in 8..16384, got '" + *v + "'");
    }
    e.dim = static_cast<int>(dim);
  }
  if (auto ok = ragd::validate(gateway); !ok) return ok.error();
  ToolRetrieval out;
  out.config = gateway.retrieval;
  if (auto key = flags.get("embed-api-key")) {
    out.embed_api_key = *key;
  } else if (!e.api_key_env.empty()) {
    if (const char* v = std::getenv(e.api_key_env.c_str())) out.embed_api_key = v;
  }
  return out;
}

// The remote embedder of `tool`, or null for the built-in one. The offline commands use
// only the blocking forms (each runs its own event loop), so `io` is never run; it must
// outlive the embedder.
std::shared_ptr<ragd::retrieval::Embedder> tool_embedder(asio::io_context& io, const ToolRetrieval& tool) {
  if (tool.config.embedder.base_url.empty()) return nullptr;
  return std::make_shared<ragd::retrieval::RemoteEmbedder>(io.get_executor(), tool.config.embedder,
                                                          tool.embed_api_key);
}

bool has_embedder_flags(const ragd::ParsedFlags& flags) {
  for (const char* name : {"embed-url", "embed-model", "embed-dim", "embed-api-key"}) {
    if (flags.get(name)) return true;
  }
  return false;
}

// Documents as the server's POST /v1/documents would take them. Metadata must be a flat
// object of string, number and boolean values, as the API requires.
ragd::Result<std::vector<ragd::retrieval::Document>> to_documents(const std::vector<json>& docs) {
  std::vector<ragd::retrieval::Document> out;
  out.reserve(docs.size());
  for (const json& d : docs) {
    ragd::retrieval::Document doc{d.value("id", ""), d.value("title", ""), d.value("text", "")};
    if (auto m = d.find("metadata"); m != d.end() && !m->is_null()) {
      const bool flat = m->is_object() && std::all_of(m->begin(), m->end(), [](const json& v) {
        return v.is_string() || v.is_number() || v.is_boolean();
      });
      if (!flat) {
        return ragd::make_error(ragd::Errc::bad_request, "document '" + doc.id +
                                                             "': metadata must be an object of string, number or "
                                                             "boolean values");
      }
      if (!m->empty()) doc.metadata = m->dump(-1, ' ', false, json::error_handler_t::replace);
    }
    out.push_back(std::move(doc));
  }
  return out;
}

// ingest --snapshot FILE: the documents indexed here, with no server, into FILE (loaded
// first when it exists, so that documents are added or replaced).
int cmd_ingest_offline(const ragd::ParsedFlags& flags, const std::vector<json>& collected, std::size_t batch) {
  namespace rr = ragd::retrieval;
  auto tool = tool_retrieval(flags);
  if (!tool) return fail(ragd::log_text(tool.error()));
  tool->config.snapshot_path = *flags.get("snapshot");
  // The snapshot keeps vectors, not the index: ragd builds its own kind of index from them
  // at start, so the exact (flat) kind, the quickest to fill, is all that is needed here.
  tool->config.index.type = "flat";
  const std::string tenant = flags.get("tenant").value_or(std::string(ragd::redis::kDefaultTenant));
  if (!ragd::redis::valid_tenant(tenant)) return fail("--tenant " + std::string(ragd::redis::kTenantRule));
  auto docs = to_documents(collected);
  if (!docs) return fail(ragd::log_text(docs.error()));
  asio::io_context io;
  auto embedder = tool_embedder(io, *tool);
  rr::Retriever retriever(tool->config, embedder);
  auto loaded = retriever.load_snapshot();
  if (!loaded && loaded.error().code != ragd::Errc::not_found) {
    return fail("cannot update " + tool->config.snapshot_path + ": " + ragd::log_text(loaded.error()), 1);
  }
  if (loaded) {
    std::fprintf(stderr, "updating %s: %zu documents%s\n", tool->config.snapshot_path.c_str(), loaded->documents,
                 loaded->reembedded ? " (re-embedded for this embedder)" : "");
  }
  const bool tty = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  std::size_t done = 0, chunks = 0;
  for (std::size_t i = 0; i < docs->size(); i += batch) {
    const auto end = std::min(docs->size(), i + batch);
    std::vector<rr::Document> part(std::make_move_iterator(docs->begin() + static_cast<std::ptrdiff_t>(i)),
                                   std::make_move_iterator(docs->begin() + static_cast<std::ptrdiff_t>(end)));
    auto stats = retriever.ingest_sync(tenant, std::move(part));
    if (!stats) {
      // What went in before stays (ingests replace by id, so running it again is safe).
      if (tty) std::fprintf(stderr, "\n");
      const auto kept = retriever.save_snapshot_sync();
      return fail("ingest failed after " + std::to_string(done) + " of " + std::to_string(docs->size()) +
                      " documents: " + ragd::log_text(stats.error()) +
                      (kept && !kept->skipped ? "; the documents before it are saved in " + tool->config.snapshot_path
                                              : ""),
                  1);
    }
    done = end;
    chunks += stats->chunks;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    if (tty) {
      const int width = 30;
      const int filled = static_cast<int>(width * done / docs->size());
      std::fprintf(stderr, "\r[%s%s] %zu/%zu docs  %.0f docs/s ", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), done, docs->size(), rate);
    } else {
      std::fprintf(stderr, "indexed %zu/%zu documents (%.0f docs/s)\n", done, docs->size(), rate);
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  auto saved = retriever.save_snapshot_sync();
  if (!saved) return fail("cannot save " + tool->config.snapshot_path + ": " + ragd::log_text(saved.error()), 1);
  std::cout << "indexed " << done << " documents, " << chunks << " chunks of tenant " << tenant << " into "
            << tool->config.snapshot_path << " (" << saved->documents << " documents, " << saved->chunks
            << " chunks in all; embedder " << retriever.active_embedder().identity() << "; tenant's index version "
            << retriever.version(tenant) << ")\n";
  return 0;
}

int cmd_ingest(const Target& t, const ragd::ParsedFlags& flags, const std::string& key) {
  std::vector<std::string> paths(flags.positional.begin() + 1, flags.positional.end());
  if (paths.empty()) return fail("ingest needs at least one PATH");
  std::size_t batch = 64;
  if (auto b = flags.get("batch")) batch = std::max(1, std::atoi(b->c_str()));
  const bool offline = flags.get("snapshot").has_value();
  if (!offline && has_embedder_flags(flags)) {
    return fail("--embed-* flags apply to ingest --snapshot FILE and eval: a server embeds with its own embedder");
  }
  if (!offline && flags.get("tenant")) {
    return fail("--tenant applies to ingest --snapshot FILE: a server stores documents in the API key's tenant");
  }
  auto docs = collect(paths);
  if (!docs) return fail(ragd::log_text(docs.error()));
  if (docs->empty()) return fail("no .md, .txt or .jsonl documents found");
  if (offline) return cmd_ingest_offline(flags, *docs, batch);
  std::size_t sent = 0, chunks = 0;
  std::uint64_t version = 0;
  const bool tty = isatty(STDERR_FILENO);
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < docs->size(); i += batch) {
    json body = {{"documents", json::array()}};
    for (std::size_t j = i; j < std::min(docs->size(), i + batch); ++j) body["documents"].push_back((*docs)[j]);
    auto r = call(t, "POST", "/v1/documents", body.dump(), key);
    if (!r) return fail(ragd::log_text(r.error()), 1);
    if (r->status != 200) return fail("ingest failed: " + error_message(*r), 1);
    auto j = json::parse(r->body, nullptr, false);
    sent += body["documents"].size();
    chunks += j.value("chunks", 0);
    version = j.value("index_version", version);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double rate = secs > 0 ? static_cast<double>(sent) / secs : 0;
    double eta = rate > 0 ? static_cast<double>(docs->size() - sent) / rate : 0;
    if (tty) {
      int width = 30;
      int filled = static_cast<int>(width * sent / docs->size());
      std::fprintf(stderr, "\r[%s%s] %zu/%zu docs  %.0f docs/s  ETA %.0fs ",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), sent,
                   docs->size(), rate, eta);
    } else {
      std::fprintf(stderr, "ingested %zu/%zu documents (%.0f docs/s)\n", sent, docs->size(), rate);
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  std::cout << "indexed " << sent << " documents, " << chunks << " chunks; index version " << version << "\n";
  return 0;
}

int cmd_query(const Target& t, const ragd::ParsedFlags& flags, const std::string& key) {
  if (flags.positional.size() < 2) return fail("query needs the question text");
  std::string text;
  for (std::size_t i = 1; i < flags.positional.size(); ++i) text += (i > 1 ? " " : "") + flags.positional[i];
  json body = {{"query", text}};
  if (auto u = flags.get("user")) body["user_id"] = *u;
  if (auto s = flags.get("session")) body["session_id"] = *s;
  if (auto k = flags.get("top-k")) body["top_k"] = std::atoi(k->c_str());
  auto r = call(t, "POST", "/query", body.dump(), key);
  if (!r) return fail(ragd::log_text(r.error()), 1);
  if (r->status != 200) return fail(error_message(*r), 1);
  if (flags.has("json")) {
    std::cout << r->body << "\n";
    return 0;
  }
  auto j = json::parse(r->body, nullptr, false);
  std::cout << j.value("answer", "") << "\n\n";
  int n = 0;
  for (const auto& s : j.value("sources", json::array())) {
    std::printf("  [%d] %s  (%s, score %.3f)\n", ++n, s.value("title", "").c_str(),
                s.value("chunk_id", "").c_str(), s.value("score", 0.0));
  }
  const auto& tm = j.value("timings_ms", json::object());
  std::printf("\ncache=%s model=%s total=%.1f ms (retrieve %.1f, queue %.1f, llm %.1f)\n",
              j.value("cache", "").c_str(), j.value("model", "").c_str(), tm.value("total", 0.0),
              tm.value("retrieve", 0.0), tm.value("queue_wait", 0.0), tm.value("llm", 0.0));
  return 0;
}

int cmd_health(const Target& t, const std::string& key) {
  auto r = call(t, "GET", "/readyz", "", key);
  if (!r) return fail(ragd::log_text(r.error()), 1);
  std::cout << r->body << "\n";
  return r->status == 200 ? 0 : 1;
}

// --split of eval and tune: the BEIR splits with judgments here.
ragd::Result<std::string> eval_split(const ragd::ParsedFlags& flags, const std::string& fallback) {
  std::string split = flags.get("split").value_or(fallback);
  if (split != "train" && split != "test" && split != "dev") {
    return ragd::make_error(ragd::Errc::bad_request, "--split must be train, test or dev, got '" + split + "'");
  }
  return split;
}

std::size_t limit_queries(const ragd::ParsedFlags& flags) {
  if (auto n = flags.get("limit-queries")) return static_cast<std::size_t>(std::max(0, std::atoi(n->c_str())));
  return 0;
}

// What eval and tune start from: the settings, the split and its data.
struct EvalInput {
  ToolRetrieval tool;
  std::string split;
  ragd::retrieval::BeirDataset data;
};

// Exit status on failure: 2 for bad flags, 1 for data that does not load.
ragd::Result<EvalInput> eval_input(const ragd::ParsedFlags& flags, const std::string& command,
                                   const std::string& default_split, int& status) {
  status = 2;
  auto dir = flags.get("data");
  if (!dir) return ragd::make_error(ragd::Errc::bad_request, command + " needs --data DIR");
  auto tool = tool_retrieval(flags);
  if (!tool) return tool.error();
  auto split = eval_split(flags, default_split);
  if (!split) return split.error();
  status = 1;
  auto data = ragd::retrieval::load_beir(*dir, *split, limit_queries(flags));
  if (!data) return data.error();
  std::fprintf(stderr, "loaded %zu documents, %zu judged queries\n", data->corpus.size(), data->queries.size());
  tool->config.snapshot_path.clear();  // evaluation never touches a server's snapshot
  return EvalInput{std::move(*tool), std::move(*split), std::move(*data)};
}

int cmd_tune(const ragd::ParsedFlags& flags) {
  namespace rr = ragd::retrieval;
  int status = 0;
  auto input = eval_input(flags, "tune", "train", status);
  if (!input) return fail(ragd::log_text(input.error()), status);
  const ToolRetrieval& tool = input->tool;
  const std::string& split = input->split;
  const rr::BeirDataset& data = input->data;
  const rr::TuningGrid grid;
  auto points = rr::tune(tool.config, data, grid, [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
  });
  if (!points) return fail(ragd::log_text(points.error()), 1);
  std::stable_sort(points->begin(), points->end(), [](const rr::TuningPoint& a, const rr::TuningPoint& b) {
    return a.hybrid.ndcg_at_10 > b.hybrid.ndcg_at_10;
  });
  std::printf("Split %s, %zu judged queries, %zu documents; analyzer language %s; built-in embedder, dim %d; "
              "candidates %d.\n\n",
              split.c_str(), data.queries.size(), data.corpus.size(), tool.config.analyzer.language.c_str(),
              tool.config.embedding_dim, tool.config.candidates);
  std::printf("| stop words | k1 | b | document weight | fusion | dense weight | rrf k | hybrid nDCG@10 | "
              "hybrid R@100 | lexical nDCG@10 | lexical R@100 | dense nDCG@10 | dense R@100 |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const rr::TuningPoint& p : *points) {
    std::printf("| %s | %.2f | %.2f | %.2f | %s | %.2f | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
                p.stop_words ? "on" : "off", p.k1, p.b, p.document_weight, std::string(rr::to_string(p.method)).c_str(),
                p.dense_weight,
                p.method == rr::FusionMethod::rrf ? std::to_string(static_cast<int>(p.rrf_k)).c_str() : "-",
                p.hybrid.ndcg_at_10, p.hybrid.recall_at_100, p.lexical.ndcg_at_10, p.lexical.recall_at_100,
                p.dense.ndcg_at_10, p.dense.recall_at_100);
  }
  return 0;
}

int cmd_eval(const ragd::ParsedFlags& flags) {
  namespace rr = ragd::retrieval;
  std::vector<rr::SearchMode> modes;
  std::stringstream list(flags.get("modes").value_or("dense,lexical,hybrid"));
  for (std::string name; std::getline(list, name, ',');) {
    auto mode = rr::parse_search_mode(name);
    if (!mode) return fail("--modes: unknown mode '" + name + "' (dense, lexical, hybrid)");
    modes.push_back(*mode);
  }
  if (modes.empty()) return fail("--modes is empty");
  int status = 0;
  auto input = eval_input(flags, "eval", "test", status);
  if (!input) return fail(ragd::log_text(input.error()), status);
  const ToolRetrieval& tool = input->tool;
  const ragd::RetrievalConfig& config = tool.config;
  const std::string& split = input->split;
  const rr::BeirDataset& data = input->data;
  auto start = std::chrono::steady_clock::now();
  asio::io_context io;
  auto embedder = tool_embedder(io, tool);
  rr::Retriever retriever(config, embedder);
  const bool tty = isatty(STDERR_FILENO);
  auto progress = [&](std::size_t done, std::size_t total) {
    if (tty) std::fprintf(stderr, "\rindexing %zu/%zu documents", done, total);
  };
  auto ingested = rr::ingest_corpus(retriever, data, progress);
  if (tty) std::fprintf(stderr, "\n");
  if (!ingested) return fail(ragd::log_text(ingested.error()), 1);
  const double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "indexed %zu chunks in %.1f s (embedder %s, %s index, chunk target %zu chars)\n",
               ingested->chunks, ingest_s, retriever.active_embedder().identity().c_str(),
               retriever.corpora().index_description().c_str(), config.chunker.target_chars);
  auto results = rr::evaluate(retriever, data, modes);
  if (!results) return fail(ragd::log_text(results.error()), 1);
  std::printf("split %s; analyzer %s; bm25 k1=%.2f b=%.2f document_weight=%.2f; fusion %s dense_weight=%.2f",
              split.c_str(), rr::TextAnalyzer(config.analyzer).identity().c_str(), config.bm25_k1, config.bm25_b,
              config.bm25_document_weight, config.fusion.c_str(), config.dense_weight);
  if (config.fusion == "rrf") std::printf(" rrf_k=%.0f", config.rrf_k);
  std::printf("; candidates %d\n\n", config.candidates);
  std::printf("%-8s | %-8s | %-10s | %-7s | %s\n", "mode", "nDCG@10", "Recall@100", "queries", "ms/query");
  std::printf("---------|----------|------------|---------|---------\n");
  for (const auto& m : *results) {
    std::printf("%-8s | %8.4f | %10.4f | %7zu | %8.2f\n", std::string(rr::to_string(m.mode)).c_str(),
                m.ndcg_at_10, m.recall_at_100, m.queries, m.ms_per_query);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = ragd::parse_flags(argc, argv, kFlags, /*allow_positional=*/true);
  if (!flags) return fail(ragd::log_text(flags.error()) + " (see --help)");
  if (flags->has("help")) {
    std::cout << kUsage << ragd::flags_help(kFlags);
    return 0;
  }
  if (flags->has("version")) {
    std::cout << "ragctl " RAGD_VERSION "\n";
    return 0;
  }
  if (flags->positional.empty()) return fail("missing COMMAND (see --help)");
  const char* env_server = std::getenv("RAGD_SERVER");
  auto server = parse_server(flags->get("server").value_or(env_server ? env_server : "http://127.0.0.1:8080"));
  if (!server) return fail(ragd::log_text(server.error()));
  const char* env_key = std::getenv("RAGD_API_KEY");
  std::string key = flags->get("api-key").value_or(env_key ? env_key : "");
  const std::string& cmd = flags->positional[0];
  if (cmd == "ingest") return cmd_ingest(*server, *flags, key);
  if (cmd == "query") return cmd_query(*server, *flags, key);
  if (cmd == "health") return cmd_health(*server, key);
  if (cmd == "eval") return cmd_eval(*flags);
  if (cmd == "tune") return cmd_tune(*flags);
  if (cmd == "queue") return ragctl::cmd_queue(*flags);
  if (cmd == "keys") return ragctl::cmd_keys(*flags);
  return fail("unknown command '" + cmd + "' (see --help)");
}
