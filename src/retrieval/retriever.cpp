#include "ragd/retrieval/retriever.hpp"

#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/fusion.hpp"
#include "ragd/retrieval/offload.hpp"
#include "ragd/retrieval/snapshot.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <unordered_set>
#include <utility>

namespace ragd::retrieval {
namespace {

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

std::string field(std::size_t index, const char* name) {
  return "documents[" + std::to_string(index) + "]." + name;
}

// What gets embedded for a chunk: its title (document title and heading) gives every
// chunk the context its own text may lack ("It listens on port 6379" under "Redis").
std::string embedding_text(const Chunk& c) {
  if (c.title.empty()) return c.text;
  std::string s;
  s.reserve(c.title.size() + 1 + c.text.size());
  s += c.title;
  s += '\n';
  s += c.text;
  return s;
}

bool is_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

}  // namespace

std::optional<SearchMode> parse_search_mode(std::string_view name) {
  if (name == "dense") return SearchMode::dense;
  if (name == "lexical") return SearchMode::lexical;
  if (name == "hybrid") return SearchMode::hybrid;
  return std::nullopt;
}

std::string_view to_string(SearchMode mode) {
  switch (mode) {
    case SearchMode::dense: return "dense";
    case SearchMode::lexical: return "lexical";
    case SearchMode::hybrid: return "hybrid";
  }
  return "hybrid";
}

Result<void> validate_documents(const std::vector<Document>& docs, std::size_t max_document_chars) {
  std::unordered_map<std::string_view, std::size_t> first_index;
  first_index.reserve(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const Document& d = docs[i];
    if (d.id.empty()) return make_error(Errc::bad_request, field(i, "id") + " is empty");
    if (d.id.size() > kMaxDocumentIdChars) {
      return make_error(Errc::bad_request, field(i, "id") + " is longer than " +
                                               std::to_string(kMaxDocumentIdChars) + " characters");
    }
    if (d.title.size() > kMaxDocumentTitleChars) {
      return make_error(Errc::bad_request, field(i, "title") + " is longer than " +
                                               std::to_string(kMaxDocumentTitleChars) +
                                               " characters");
    }
    if (is_blank(d.text)) return make_error(Errc::bad_request, field(i, "text") + " is empty");
    if (d.text.size() > max_document_chars) {
      return make_error(Errc::bad_request, field(i, "text") + " is longer than " +
                                               std::to_string(max_document_chars) + " characters");
    }
    auto [it, inserted] = first_index.emplace(d.id, i);
    if (!inserted) {
      return make_error(Errc::bad_request, field(i, "id") + " repeats documents[" +
                                               std::to_string(it->second) + "].id \"" + d.id + "\"");
    }
  }
  return {};
}

Retriever::Retriever(const RetrievalConfig& config)
    : config_(config),
      mode_(parse_search_mode(config.mode).value_or(SearchMode::hybrid)),
      embedder_(config.embedding_dim),
      index_(embedder_.dim()),
      lexical_(Bm25Params{config.bm25_k1, config.bm25_b}),
      pool_(static_cast<std::size_t>(std::max(1, config.search_threads))),
      snapshot_timer_(pool_.get_executor()) {}

Retriever::~Retriever() {
  {
    std::lock_guard lock(timer_mutex_);
    closing_ = true;
    snapshot_timer_.cancel();
  }
  // Lets work already posted finish (its coroutines still expect an answer) before the
  // store and index it uses are destroyed.
  pool_.join();
  if (!config_.snapshot_path.empty() && version() != saved_version_.load()) {
    if (auto saved = save_snapshot_sync(); !saved) {
      spdlog::error("snapshot save at shutdown failed: {}", saved.error().message);
    }
  }
}

boost::asio::awaitable<Result<std::vector<Hit>>> Retriever::search(std::string query, int top_k) {
  co_return co_await search(std::move(query), top_k, mode_);
}

boost::asio::awaitable<Result<std::vector<Hit>>> Retriever::search(std::string query, int top_k,
                                                                   SearchMode mode) {
  auto work = [this, query = std::move(query), top_k, mode] { return search_sync(query, top_k, mode); };
  co_return co_await run_on(pool_.get_executor(), std::move(work));
}

boost::asio::awaitable<Result<IngestStats>> Retriever::ingest(std::vector<Document> docs) {
  if (docs.size() > config_.max_documents_per_request) {
    co_return make_error(Errc::bad_request,
                         "documents holds " + std::to_string(docs.size()) +
                             " documents; at most " +
                             std::to_string(config_.max_documents_per_request) +
                             " are accepted per request");
  }
  auto work = [this, docs = std::move(docs)]() mutable { return ingest_sync(std::move(docs)); };
  auto stats = co_await run_on(pool_.get_executor(), std::move(work));
  if (stats) schedule_snapshot();
  co_return stats;
}

boost::asio::awaitable<Result<bool>> Retriever::remove(std::string doc_id) {
  auto work = [this, doc_id = std::move(doc_id)] { return remove_sync(doc_id); };
  auto removed = co_await run_on(pool_.get_executor(), std::move(work));
  if (removed && *removed) schedule_snapshot();
  co_return removed;
}

Result<std::vector<Hit>> Retriever::search_sync(std::string_view query, int top_k) const {
  return search_sync(query, top_k, mode_);
}

// The chunk keys for `query` (embedded as `vec`, empty in lexical mode), best first,
// `depth` deep. Call with store_mutex_ held (shared), so both indexes are read at the
// same version.
Result<std::vector<ScoredId>> Retriever::ranked_keys(std::string_view query, const std::vector<float>& vec,
                                                     int depth, SearchMode mode) const {
  std::vector<ScoredId> dense;
  if (mode != SearchMode::lexical && !vec.empty() && !is_zero(vec)) {
    const int list_depth = mode == SearchMode::hybrid ? std::max(depth, config_.candidates) : depth;
    auto found = index_.search(vec.data(), list_depth);
    if (!found) return found.error();
    dense = std::move(*found);
  }
  if (mode == SearchMode::dense) return dense;
  if (mode == SearchMode::lexical) return lexical_.search(query, depth);
  std::vector<std::vector<ScoredId>> lists;
  lists.push_back(std::move(dense));
  lists.push_back(lexical_.search(query, std::max(depth, config_.candidates)));
  const std::vector<double> weights = {config_.rrf_dense_weight, 1.0};
  return rrf_fuse(lists, config_.rrf_k, weights, static_cast<std::size_t>(depth));
}

Result<std::vector<Hit>> Retriever::search_sync(std::string_view query, int top_k, SearchMode mode) const {
  if (is_blank(query)) return make_error(Errc::bad_request, "query is empty");
  if (top_k < 1) return make_error(Errc::bad_request, "top_k must be at least 1");

  // Embedding happens before the store lock, so readers hold it only while searching and
  // ingests are not starved. Query terms are weighted by their IDF in the lexical index:
  // without it "patients" and "study" weigh as much as "rapamycin" in a hash embedding.
  std::vector<float> vec;
  if (mode != SearchMode::lexical) {
    auto idf = [this](std::string_view term) { return static_cast<float>(lexical_.idf(term)); };
    vec = embedder_.embed_weighted(query, idf);
  }

  // A few spare results make up for the duplicates dropped below.
  const int fetch = top_k + std::min(top_k, 8);

  std::shared_lock lock(store_mutex_);
  auto found = ranked_keys(query, vec, fetch, mode);
  if (!found) return found.error();
  std::vector<Hit> hits;
  hits.reserve(static_cast<std::size_t>(top_k));
  std::unordered_set<std::string_view> seen_texts;
  for (const auto& [key, score] : *found) {
    auto it = chunks_.find(key);
    if (it == chunks_.end()) continue;
    const Chunk& c = it->second;
    // The same text under two ids (a document posted twice under different names) is one
    // source to the reader; keep the better-ranked copy.
    if (!seen_texts.insert(c.text).second) continue;
    hits.push_back(Hit{c.doc_id, c.chunk_id, c.title, c.text, static_cast<double>(score)});
    if (hits.size() == static_cast<std::size_t>(top_k)) break;
  }
  return hits;
}

Result<IngestStats> Retriever::ingest_sync(std::vector<Document> docs) {
  if (docs.empty()) return make_error(Errc::bad_request, "documents is empty");
  if (auto ok = validate_documents(docs, config_.max_document_chars); !ok) return ok.error();

  // The slow part, chunking and embedding, runs without any lock.
  std::vector<Chunk> chunks;
  for (const Document& d : docs) {
    auto cs = chunk_document(d, config_.chunker);
    for (auto& c : cs) chunks.push_back(std::move(c));
  }
  const auto dim = static_cast<std::size_t>(embedder_.dim());
  std::vector<float> vectors(chunks.size() * dim);
  std::vector<std::int64_t> keys(chunks.size());
  std::vector<Bm25Index::PreparedText> prepared;
  prepared.reserve(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].id = next_chunk_key_.fetch_add(1, std::memory_order_relaxed);
    keys[i] = chunks[i].id;
    const std::string text = embedding_text(chunks[i]);
    embedder_.embed_into(text, vectors.data() + i * dim);
    prepared.push_back(Bm25Index::prepare(keys[i], text));
  }

  std::unique_lock lock(store_mutex_);
  std::vector<std::int64_t> replaced;
  for (const Document& d : docs) {
    auto it = doc_chunks_.find(d.id);
    if (it != doc_chunks_.end()) replaced.insert(replaced.end(), it->second.begin(), it->second.end());
  }
  // Add before removing: if FAISS fails on add, the old version is still whole.
  if (auto added = index_.add(keys, vectors.data(), chunks.size()); !added) return added.error();
  if (auto removed = index_.remove(replaced); !removed) {
    // Keep the store and the index in step: take the new chunks out again.
    (void)index_.remove(keys);
    return removed.error();
  }
  lexical_.remove(replaced);
  lexical_.add(std::move(prepared));
  for (auto key : replaced) chunks_.erase(key);
  for (const Document& d : docs) doc_chunks_[d.id].clear();
  for (auto& c : chunks) {
    doc_chunks_[c.doc_id].push_back(c.id);
    chunks_.emplace(c.id, std::move(c));
  }
  const std::uint64_t v = version_.fetch_add(1, std::memory_order_acq_rel) + 1;
  return IngestStats{docs.size(), keys.size(), v};
}

Result<bool> Retriever::remove_sync(const std::string& doc_id) {
  std::unique_lock lock(store_mutex_);
  auto it = doc_chunks_.find(doc_id);
  if (it == doc_chunks_.end()) return false;
  if (auto removed = index_.remove(it->second); !removed) return removed.error();
  lexical_.remove(it->second);
  for (auto key : it->second) chunks_.erase(key);
  doc_chunks_.erase(it);
  version_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

std::size_t Retriever::chunk_count() const {
  std::shared_lock lock(store_mutex_);
  return chunks_.size();
}

std::size_t Retriever::document_count() const {
  std::shared_lock lock(store_mutex_);
  return doc_chunks_.size();
}

Result<SnapshotStats> Retriever::save_snapshot_sync() {
  SnapshotStats stats;
  if (config_.snapshot_path.empty()) {
    stats.skipped = true;
    return stats;
  }
  std::lock_guard save_lock(save_mutex_);
  const auto started = std::chrono::steady_clock::now();
  SnapshotData data;
  data.dim = static_cast<std::uint32_t>(embedder_.dim());
  data.embedder_version = HashEmbedder::version();
  {
    // Copy under the shared lock (searches go on), write without it.
    std::shared_lock lock(store_mutex_);
    data.index_version = version();
    if (data.index_version == saved_version_.load()) {
      stats.skipped = true;
      stats.index_version = data.index_version;
      return stats;
    }
    data.next_chunk_key = next_chunk_key_.load();
    // Documents in id order and chunks in position order: equal stores give equal files.
    std::map<std::string_view, const std::vector<std::int64_t>*> docs;
    for (const auto& [id, keys] : doc_chunks_) docs.emplace(id, &keys);
    std::vector<std::int64_t> keys;
    keys.reserve(chunks_.size());
    for (const auto& [id, doc_keys] : docs) keys.insert(keys.end(), doc_keys->begin(), doc_keys->end());
    data.chunks.reserve(keys.size());
    for (auto key : keys) data.chunks.push_back(chunks_.at(key));
    data.vectors.resize(keys.size() * data.dim);
    if (auto r = index_.reconstruct(keys, data.vectors.data()); !r) return r.error();
    stats.documents = docs.size();
  }
  stats.chunks = data.chunks.size();
  stats.index_version = data.index_version;
  const std::string bytes = encode_snapshot(data);
  stats.bytes = bytes.size();
  if (auto w = write_file_atomically(config_.snapshot_path, bytes); !w) return w.error();
  saved_version_.store(data.index_version);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("snapshot saved path={} version={} documents={} chunks={} bytes={} ms={:.0f}",
               config_.snapshot_path, stats.index_version, stats.documents, stats.chunks, stats.bytes, ms);
  return stats;
}

boost::asio::awaitable<Result<SnapshotStats>> Retriever::save_snapshot() {
  auto work = [this] { return save_snapshot_sync(); };
  co_return co_await run_on(pool_.get_executor(), std::move(work));
}

void Retriever::schedule_snapshot() {
  if (config_.snapshot_path.empty()) return;
  std::lock_guard lock(timer_mutex_);
  if (closing_ || timer_armed_) return;
  // Armed by the first unsaved change and not pushed back by later ones: a steady stream
  // of ingests still gets a snapshot every interval.
  timer_armed_ = true;
  snapshot_timer_.expires_after(std::chrono::milliseconds(config_.snapshot_interval_ms));
  snapshot_timer_.async_wait([this](boost::system::error_code ec) {
    {
      std::lock_guard relock(timer_mutex_);
      timer_armed_ = false;
      if (ec || closing_) return;
    }
    if (auto saved = save_snapshot_sync(); !saved) {
      spdlog::error("snapshot save failed path={}: {}", config_.snapshot_path, saved.error().message);
      return;  // the next change tries again
    }
    if (version() != saved_version_.load()) schedule_snapshot();
  });
}

Result<SnapshotStats> Retriever::load_snapshot() {
  SnapshotStats stats;
  if (config_.snapshot_path.empty()) {
    stats.skipped = true;
    return stats;
  }
  const std::string& path = config_.snapshot_path;
  auto data = read_snapshot_file(path);
  if (!data) {
    if (data.error().code == Errc::not_found) {
      spdlog::info("no snapshot at {}; starting with an empty index", path);
    } else {
      // Moved aside rather than left in place: the next save would overwrite it, and it
      // may be all that is left of the index.
      const std::string kept = path + ".corrupt";
      const bool moved = std::rename(path.c_str(), kept.c_str()) == 0;
      spdlog::error("snapshot not loaded, starting with an empty index ({}): {}",
                    moved ? "the file is kept as " + kept : "the file is left in place", data.error().message);
    }
    return data.error();
  }
  const auto dim = static_cast<std::size_t>(embedder_.dim());
  if (data->dim != dim || data->embedder_version != HashEmbedder::version()) {
    // Texts are all we need: recompute vectors with the running embedder.
    spdlog::warn("snapshot {} has vectors of dim {} embedder version {:#x}; re-embedding {} chunks "
                 "for dim {} version {:#x}",
                 path, data->dim, data->embedder_version, data->chunks.size(), dim, HashEmbedder::version());
    data->vectors.assign(data->chunks.size() * dim, 0.0f);
    for (std::size_t i = 0; i < data->chunks.size(); ++i) {
      embedder_.embed_into(embedding_text(data->chunks[i]), data->vectors.data() + i * dim);
    }
    stats.reembedded = true;
  }
  std::vector<std::int64_t> keys;
  keys.reserve(data->chunks.size());
  std::vector<Bm25Index::PreparedText> prepared;
  prepared.reserve(data->chunks.size());
  std::int64_t max_key = 0;
  for (const Chunk& c : data->chunks) {
    keys.push_back(c.id);
    prepared.push_back(Bm25Index::prepare(c.id, embedding_text(c)));
    max_key = std::max(max_key, c.id);
  }
  std::unique_lock lock(store_mutex_);
  if (!chunks_.empty()) {
    return make_error(Errc::internal, "load_snapshot needs an empty index; it holds " +
                                          std::to_string(chunks_.size()) + " chunks");
  }
  if (auto added = index_.add(keys, data->vectors.data(), keys.size()); !added) {
    spdlog::error("snapshot {} not loaded, starting with an empty index: {}", path, added.error().message);
    return added.error();
  }
  lexical_.add(std::move(prepared));
  for (Chunk& c : data->chunks) {
    doc_chunks_[c.doc_id].push_back(c.id);
    const std::int64_t key = c.id;
    chunks_.emplace(key, std::move(c));
  }
  next_chunk_key_.store(std::max(data->next_chunk_key, max_key + 1));
  version_.store(data->index_version);
  // After re-embedding, the file on disk no longer matches: the next save rewrites it.
  saved_version_.store(stats.reembedded ? ~std::uint64_t{0} : data->index_version);
  stats.documents = doc_chunks_.size();
  stats.chunks = chunks_.size();
  stats.index_version = data->index_version;
  spdlog::info("snapshot loaded path={} version={} documents={} chunks={}", path, stats.index_version,
               stats.documents, stats.chunks);
  return stats;
}

}  // namespace ragd::retrieval
