#include "ragd/retrieval/retriever.hpp"

#include "ragd/core/await.hpp"

#include "ragd/metrics/metrics.hpp"
#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/fusion.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
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

// What gets embedded for a chunk (and tokenised for BM25).
std::string embedding_text(const Chunk& c) { return indexed_text(c); }

// A document's text from its chunks: each is a verbatim slice at its offset, so laying them
// out rebuilds it, except the whitespace between chunks, which comes back as one newline.
std::string text_from_chunks(const std::vector<const Chunk*>& parts) {
  std::string text;
  for (const Chunk* c : parts) {
    if (c->offset + c->text.size() <= text.size()) continue;  // inside an earlier one
    if (c->offset > text.size()) {
      if (!text.empty()) text += '\n';
    } else {
      text.resize(c->offset);  // the overlap is the same bytes
    }
    text += c->text;
  }
  return text;
}

std::string document_title_of(const std::vector<const Chunk*>& parts) {
  if (parts.empty()) return {};
  const std::string& t = parts.front()->title;
  const auto sep = t.find(" \u203a ");
  return sep == std::string::npos ? t : t.substr(0, sep);
}

Result<void> check_search(std::string_view query, int top_k) {
  if (is_blank(query)) return make_error(Errc::bad_request, "query is empty");
  if (top_k < 1) return make_error(Errc::bad_request, "top_k must be at least 1");
  return {};
}

bool is_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

// A dense search with no query vector has nothing to fall back on: the embedder's error,
// its code kept (it says whether to retry), with what failed.
Error dense_search_error(const Error& cause) {
  return make_error(cause.code, "dense search needs the query's embedding, and the embedding service failed: " +
                                    cause.message);
}

constexpr std::int64_t kDegradedWarningEveryMs = 10000;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// A search waiting in the batch queue; the batch that takes it hands its hits back.
struct Retriever::PendingSearch : Handoff<Result<std::vector<Hit>>> {
  PendingSearch(boost::asio::any_io_executor ex, std::string q, int k, SearchMode m)
      : Handoff(std::move(ex)), query(std::move(q)), top_k(k), mode(m) {}
  std::string query;
  int top_k;
  SearchMode mode;
};

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
    if (d.metadata.size() > kMaxMetadataBytes) {
      return make_error(Errc::bad_request, field(i, "metadata") + " is longer than " +
                                               std::to_string(kMaxMetadataBytes) + " bytes as JSON");
    }
    auto [it, inserted] = first_index.emplace(d.id, i);
    if (!inserted) {
      return make_error(Errc::bad_request, field(i, "id") + " repeats documents[" +
                                               std::to_string(it->second) + "].id \"" + d.id + "\"");
    }
  }
  return {};
}

Retriever::Retriever(const RetrievalConfig& config, std::shared_ptr<Embedder> embedder,
                     metrics::Registry* registry)
    : config_(config),
      mode_(parse_search_mode(config.mode).value_or(SearchMode::hybrid)),
      embedder_(config.embedding_dim, config.analyzer),
      external_embedder_(std::move(embedder)),
      index_(external_embedder_ ? external_embedder_->dim() : embedder_.dim(), config.index),
      lexical_(Bm25Params{config.bm25_k1, config.bm25_b}, config.analyzer),
      pool_(static_cast<std::size_t>(std::max(1, config.search_threads))),
      snapshot_timer_(pool_.get_executor()) {
  if (registry) {
    degraded_by_embedder_ = &registry
                                 ->counter("ragd_retrieval_degraded_total",
                                           "Searches answered in a lesser mode than asked, by reason (embedder: a "
                                           "hybrid search answered from BM25 alone, the query not embedded).",
                                           {"reason"})
                                 .with({"embedder"});
  }
}

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
  auto found = co_await retrieve(std::move(query), top_k, mode);
  if (!found) co_return found.error();
  co_return std::move(found->hits);
}

boost::asio::awaitable<Result<SearchResult>> Retriever::retrieve(std::string query, int top_k, SearchMode mode) {
  return retrieve(std::move(query), top_k, mode, std::chrono::milliseconds::max());
}

// GCC 12 takes this coroutine frame's own operator new and delete for a mismatched pair once
// they are inlined: a known false positive of that compiler about coroutine frames.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
boost::asio::awaitable<Result<SearchResult>> Retriever::retrieve(std::string query, int top_k, SearchMode mode,
                                                                 std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds::zero()) {
    co_return make_error(Errc::deadline_exceeded, "retrieval had no time left before the deadline");
  }
  const bool bounded = timeout != std::chrono::milliseconds::max();
  if (external_embedder_ && mode != SearchMode::lexical) {
    if (!bounded) co_return co_await retrieve_external(std::move(query), top_k, mode);
    co_return co_await with_timeout(retrieve_external(std::move(query), top_k, mode), timeout, "retrieval");
  }
  if (batches(mode)) {
    if (auto ok = check_search(query, top_k); !ok) co_return ok.error();
    boost::asio::any_io_executor caller = co_await boost::asio::this_coro::executor;
    auto pending = std::make_shared<PendingSearch>(caller, std::move(query), top_k, mode);
    enqueue_search(pending);
    // On the deadline the wait ends; the search itself runs on and its late result is dropped.
    const Waited waited = co_await PendingSearch::wait(pending, timeout);
    if (waited == Waited::timed_out) co_return make_error(Errc::deadline_exceeded, "retrieval did not finish in time");
    if (waited == Waited::cancelled) co_return make_error(Errc::cancelled, "cancelled while the search ran");
    if (!pending->value()) co_return pending->value().error();
    SearchResult out;
    out.mode_used = mode;
    out.hits = std::move(*pending->value());
    co_return out;
  }
  auto work = [this, query = std::move(query), top_k, mode] { return retrieve_sync(query, top_k, mode); };
  co_return co_await run_on(pool_.get_executor(), std::move(work), timeout, "retrieval");
}

#pragma GCC diagnostic pop

// The query is embedded as I/O, the rest runs on the pool.
boost::asio::awaitable<Result<SearchResult>> Retriever::retrieve_external(std::string query, int top_k,
                                                                         SearchMode mode) {
  if (auto ok = check_search(query, top_k); !ok) co_return ok.error();
  Result<std::vector<float>> vec = std::vector<float>();
  if (mode == SearchMode::hybrid) {
    // Half the leg's time at most, so that the BM25 answer still fits in the rest.
    const std::chrono::milliseconds budget(std::max(1, config_.timeout_ms / 2));
    vec = co_await with_timeout(external_embedder_->embed_query(query), budget, "the embedding service");
  } else {
    vec = co_await external_embedder_->embed_query(query);
  }
  // A cancelled caller has gone: nothing to degrade for.
  if (!vec && (mode == SearchMode::dense || vec.error().code == Errc::cancelled)) {
    co_return dense_search_error(vec.error());
  }
  SearchResult out;
  out.mode_used = mode;
  if (!vec) {
    note_degraded(vec.error());
    out.mode_used = SearchMode::lexical;
    out.degraded = true;
    out.degraded_reason = "embedder";
    vec = std::vector<float>();
  }
  auto work = [this, query = std::move(query), vec = std::move(*vec), top_k, mode = out.mode_used] {
    AnalyzedText terms;
    lexical_.analyzer().analyze(query, terms);
    return search_with_vector(terms, vec, top_k, mode);
  };
  auto hits = co_await run_on(pool_.get_executor(), std::move(work));
  if (!hits) co_return hits.error();
  out.hits = std::move(*hits);
  co_return out;
}

void Retriever::note_degraded(const Error& cause) const {
  if (degraded_by_embedder_) degraded_by_embedder_->inc();
  degraded_searches_.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t now = steady_ms();
  std::int64_t last = last_degraded_warning_ms_.load(std::memory_order_relaxed);
  if (now - last < kDegradedWarningEveryMs || !last_degraded_warning_ms_.compare_exchange_strong(last, now)) {
    degraded_not_logged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t not_logged = degraded_not_logged_.exchange(0, std::memory_order_relaxed);
  spdlog::warn("retrieval degraded: hybrid search answered from BM25 alone, the query could not be embedded "
               "({}: {}){}",
               to_string(cause.code), cause.message,
               not_logged == 0 ? std::string() : "; " + std::to_string(not_logged) + " more since the last warning");
}

// Batching pays where a search scans vectors: FAISS answers n queries over a flat list in
// one pass over memory (BLAS) for little more than the cost of one (retrieval-bench
// --batch-study). An HNSW graph walk is per query, so HNSW searches are not batched.
bool Retriever::batches(SearchMode mode) const {
  return mode != SearchMode::lexical && !external_embedder_ && index_.config().type != "hnsw" &&
         batch_searches_.load(std::memory_order_relaxed);
}

void Retriever::enqueue_search(std::shared_ptr<PendingSearch> search) {
  std::lock_guard lock(batch_mutex_);
  batch_queue_.push_back(std::move(search));
  if (batch_jobs_ < std::max(1, config_.search_threads)) {
    ++batch_jobs_;
    boost::asio::post(pool_, [this] { run_search_batches(); });
  }
}

// Takes its share of what is queued, up to kMaxBatch at a time, until the queue is empty: searches
// that arrive while a batch runs form the next one, so batches grow with the load and a
// lone search waits for nothing.
void Retriever::run_search_batches() {
  constexpr std::size_t kMaxBatch = 64;
  for (;;) {
    std::vector<std::shared_ptr<PendingSearch>> batch;
    {
      std::lock_guard lock(batch_mutex_);
      if (batch_queue_.empty()) {
        --batch_jobs_;
        return;
      }
      // A share per running job, so every pool thread gets work: the per-query part (BM25,
      // fusion) does not shrink with batching, and one job taking all would serialise it.
      const auto jobs = static_cast<std::size_t>(std::max(1, batch_jobs_));
      const std::size_t n = std::min(kMaxBatch, (batch_queue_.size() + jobs - 1) / jobs);
      batch.assign(std::make_move_iterator(batch_queue_.begin()), std::make_move_iterator(batch_queue_.begin() + n));
      batch_queue_.erase(batch_queue_.begin(), batch_queue_.begin() + n);
    }
    std::vector<std::optional<Result<std::vector<Hit>>>> results(batch.size());
    try {
      search_batch_now(batch, results);
    } catch (const std::exception& e) {
      for (auto& r : results) {
        if (!r) r.emplace(make_error(Errc::internal, e.what()));
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->set(std::move(*results[i]));
  }
}

void Retriever::search_batch_now(const std::vector<std::shared_ptr<PendingSearch>>& batch,
                                 std::vector<std::optional<Result<std::vector<Hit>>>>& results) const {
  // Each query is analysed once, for its embedding and for the lexical search.
  std::vector<AnalyzedText> terms(batch.size());
  std::vector<float> idf;
  std::vector<std::vector<float>> vecs(batch.size());
  std::vector<float> queries;
  std::vector<std::size_t> searched;  // batch positions with a non-zero vector
  int depth = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    lexical_.analyzer().analyze(batch[i]->query, terms[i]);
    lexical_.idf_of_terms(terms[i], idf);
    vecs[i] = embedder_.embed_terms(terms[i], idf);
    if (is_zero(vecs[i])) continue;
    searched.push_back(i);
    queries.insert(queries.end(), vecs[i].begin(), vecs[i].end());
    const int fetch = batch[i]->top_k + std::min(batch[i]->top_k, 8);
    depth = std::max(depth, batch[i]->mode == SearchMode::hybrid ? std::max(fetch, config_.candidates) : fetch);
  }
  std::shared_lock lock(store_mutex_);
  std::vector<std::vector<ScoredId>> dense(batch.size());
  if (!searched.empty()) {
    auto found = index_.search_batch(queries.data(), searched.size(), depth);
    if (!found) {
      for (auto& r : results) r.emplace(found.error());
      return;
    }
    for (std::size_t j = 0; j < searched.size(); ++j) dense[searched[j]] = std::move((*found)[j]);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const PendingSearch& s = *batch[i];
    // Each query keeps its own depth of the shared list (a prefix: the list is ranked).
    const int fetch = s.top_k + std::min(s.top_k, 8);
    const auto own = static_cast<std::size_t>(s.mode == SearchMode::hybrid ? std::max(fetch, config_.candidates) : fetch);
    if (dense[i].size() > own) dense[i].resize(own);
    results[i].emplace(hits_locked(terms[i], vecs[i], s.top_k, s.mode, &dense[i]));
  }
}

boost::asio::awaitable<Result<IngestStats>> Retriever::ingest(std::vector<Document> docs) {
  if (docs.size() > config_.max_documents_per_request) {
    co_return make_error(Errc::bad_request,
                         "documents holds " + std::to_string(docs.size()) +
                             " documents; at most " +
                             std::to_string(config_.max_documents_per_request) +
                             " are accepted per request");
  }
  if (external_embedder_) {
    auto stats = co_await ingest_external(std::move(docs), std::nullopt);
    if (stats) schedule_snapshot();
    co_return stats;
  }
  auto work = [this, docs = std::move(docs)]() mutable { return ingest_sync(std::move(docs)); };
  auto stats = co_await run_on(pool_.get_executor(), std::move(work));
  if (stats) schedule_snapshot();
  co_return stats;
}

boost::asio::awaitable<Result<IngestStats>> Retriever::ingest(std::vector<Document> docs, ReplicationPosition at) {
  if (external_embedder_) co_return co_await ingest_external(std::move(docs), at);
  auto work = [this, docs = std::move(docs), at]() mutable { return ingest_sync(std::move(docs), at); };
  co_return co_await run_on(pool_.get_executor(), std::move(work));
}

// Chunks on the pool, embeds as I/O, indexes on the pool.
boost::asio::awaitable<Result<IngestStats>> Retriever::ingest_external(std::vector<Document> docs,
                                                                       std::optional<ReplicationPosition> at) {
  auto chunk = [this, docs]() -> Result<std::vector<std::string>> {
    if (docs.empty()) return make_error(Errc::bad_request, "documents is empty");
    if (auto ok = validate_documents(docs, config_.max_document_chars); !ok) return ok.error();
    std::vector<std::string> texts;
    for (const Document& d : docs) {
      for (const Chunk& c : chunk_document(d, config_.chunker)) texts.push_back(embedding_text(c));
    }
    return texts;
  };
  auto texts = co_await run_on(pool_.get_executor(), std::move(chunk));
  if (!texts) co_return texts.error();
  auto vectors = co_await external_embedder_->embed_documents(std::move(*texts));
  if (!vectors) co_return vectors.error();
  auto index = [this, docs = std::move(docs), vectors = std::move(*vectors), at]() mutable {
    return ingest_at(std::move(docs), at ? &*at : nullptr, &vectors);
  };
  co_return co_await run_on(pool_.get_executor(), std::move(index));
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
Result<std::vector<ScoredId>> Retriever::ranked_keys(const AnalyzedText& query, const std::vector<float>& vec,
                                                     int depth, SearchMode mode,
                                                     std::vector<ScoredId>* searched) const {
  std::vector<ScoredId> dense;
  if (searched) {
    dense = std::move(*searched);
  } else if (mode != SearchMode::lexical && !vec.empty() && !is_zero(vec)) {
    const int list_depth = mode == SearchMode::hybrid ? std::max(depth, config_.candidates) : depth;
    auto found = index_.search(vec.data(), list_depth);
    if (!found) return found.error();
    dense = std::move(*found);
  }
  if (mode == SearchMode::dense) return dense;
  if (mode == SearchMode::lexical) return lexical_.search_terms(query, depth);
  std::vector<std::vector<ScoredId>> lists;
  lists.push_back(std::move(dense));
  lists.push_back(lexical_.search_terms(query, std::max(depth, config_.candidates)));
  return fuse(lists, hybrid_fusion(config_), static_cast<std::size_t>(depth));
}

Result<std::vector<Hit>> Retriever::search_sync(std::string_view query, int top_k, SearchMode mode) const {
  auto found = retrieve_sync(query, top_k, mode);
  if (!found) return found.error();
  return std::move(found->hits);
}

Result<SearchResult> Retriever::retrieve_sync(std::string_view query, int top_k, SearchMode mode) const {
  if (auto ok = check_search(query, top_k); !ok) return ok.error();

  // Embedding happens before the store lock, so readers hold it only while searching and
  // ingests are not starved. Query terms are weighted by their IDF in the lexical index:
  // without it "patients" and "study" weigh as much as "rapamycin" in a hash embedding.
  SearchResult out;
  out.mode_used = mode;
  AnalyzedText terms;
  lexical_.analyzer().analyze(query, terms);
  std::vector<float> vec;
  if (mode != SearchMode::lexical && external_embedder_) {
    std::vector<std::string> texts{std::string(query)};
    auto embedded = external_embedder_->embed_documents_sync(std::move(texts));
    if (!embedded && (mode == SearchMode::dense || embedded.error().code == Errc::cancelled)) {
      return dense_search_error(embedded.error());
    }
    if (embedded) {
      vec = std::move(*embedded);
    } else {
      note_degraded(embedded.error());
      out.mode_used = SearchMode::lexical;
      out.degraded = true;
      out.degraded_reason = "embedder";
    }
  } else if (mode != SearchMode::lexical) {
    std::vector<float> idf;
    lexical_.idf_of_terms(terms, idf);
    vec = embedder_.embed_terms(terms, idf);
  }
  auto hits = search_with_vector(terms, vec, top_k, out.mode_used);
  if (!hits) return hits.error();
  out.hits = std::move(*hits);
  return out;
}

Result<std::vector<Hit>> Retriever::search_with_vector(const AnalyzedText& query, const std::vector<float>& vec,
                                                       int top_k, SearchMode mode) const {
  std::shared_lock lock(store_mutex_);
  return hits_locked(query, vec, top_k, mode, nullptr);
}

Result<std::vector<Hit>> Retriever::hits_locked(const AnalyzedText& query, const std::vector<float>& vec, int top_k,
                                                SearchMode mode, std::vector<ScoredId>* dense) const {
  // A few spare results make up for the duplicates dropped below.
  const int fetch = top_k + std::min(top_k, 8);
  auto found = ranked_keys(query, vec, fetch, mode, dense);
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
    auto doc = documents_.find(c.doc_id);
    hits.push_back(Hit{c.doc_id, c.chunk_id, c.title, c.text, static_cast<double>(score),
                       doc == documents_.end() ? std::string() : doc->second.metadata});
    if (hits.size() == static_cast<std::size_t>(top_k)) break;
  }
  return hits;
}

Result<IngestStats> Retriever::ingest_sync(std::vector<Document> docs) { return ingest_at(std::move(docs), nullptr); }

Result<IngestStats> Retriever::ingest_sync(std::vector<Document> docs, const ReplicationPosition& at) {
  return ingest_at(std::move(docs), &at);
}

Result<bool> Retriever::remove_sync(const std::string& doc_id) { return remove_at(doc_id, nullptr); }

Result<bool> Retriever::remove_sync(const std::string& doc_id, const ReplicationPosition& at) {
  return remove_at(doc_id, &at);
}

ReplicationPosition Retriever::replication_position() const {
  std::shared_lock lock(store_mutex_);
  return position_;
}

std::uint64_t Retriever::advance_version(const ReplicationPosition* at) {
  const std::uint64_t current = version_.load(std::memory_order_acquire);
  std::uint64_t next = current + 1;
  if (at) {
    if (at->sequence > current) next = at->sequence;
    position_ = *at;
  }
  version_.store(next, std::memory_order_release);
  return next;
}

const Embedder& Retriever::active_embedder() const {
  if (external_embedder_) return *external_embedder_;
  return embedder_;
}

Result<IngestStats> Retriever::ingest_at(std::vector<Document> docs, const ReplicationPosition* at,
                                         const std::vector<float>* vectors_in) {
  if (docs.empty()) return make_error(Errc::bad_request, "documents is empty");
  if (auto ok = validate_documents(docs, config_.max_document_chars); !ok) return ok.error();

  // The slow part, chunking and embedding, runs without any lock.
  std::vector<Chunk> chunks;
  for (const Document& d : docs) {
    auto cs = chunk_document(d, config_.chunker);
    for (auto& c : cs) chunks.push_back(std::move(c));
  }
  const auto dim = static_cast<std::size_t>(active_embedder().dim());
  std::vector<float> vectors(external_embedder_ ? 0 : chunks.size() * dim);
  std::vector<std::string> texts;  // for the external embedder
  std::vector<std::int64_t> keys(chunks.size());
  std::vector<Bm25Index::PreparedText> prepared;
  prepared.reserve(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].id = next_chunk_key_.fetch_add(1, std::memory_order_relaxed);
    keys[i] = chunks[i].id;
    std::string text = embedding_text(chunks[i]);
    prepared.push_back(lexical_.prepare(keys[i], text));
    if (external_embedder_) {
      texts.push_back(std::move(text));
    } else {
      embedder_.embed_into(text, vectors.data() + i * dim);
    }
  }
  if (external_embedder_ && vectors_in) {
    vectors = *vectors_in;
  } else if (external_embedder_) {
    auto embedded = external_embedder_->embed_documents_sync(std::move(texts));
    if (!embedded) return embedded.error();
    vectors = std::move(*embedded);
  }
  if (vectors.size() != chunks.size() * dim) {
    return make_error(Errc::internal, "embedder returned " + std::to_string(vectors.size()) + " floats for " +
                                          std::to_string(chunks.size()) + " chunks of dim " + std::to_string(dim));
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
  for (Document& d : docs) {
    documents_[d.id] = DocumentInfo{std::move(d.title), std::move(d.metadata), std::move(d.text)};
  }
  const std::uint64_t v = advance_version(at);
  return IngestStats{docs.size(), keys.size(), v};
}

Result<bool> Retriever::remove_at(const std::string& doc_id, const ReplicationPosition* at) {
  std::unique_lock lock(store_mutex_);
  auto it = doc_chunks_.find(doc_id);
  if (it == doc_chunks_.end()) {
    if (at) advance_version(at);
    return false;
  }
  if (auto removed = index_.remove(it->second); !removed) return removed.error();
  lexical_.remove(it->second);
  for (auto key : it->second) chunks_.erase(key);
  doc_chunks_.erase(it);
  documents_.erase(doc_id);
  advance_version(at);
  return true;
}

boost::asio::awaitable<std::optional<StoredDocument>> Retriever::document(std::string doc_id) {
  // On the pool: the store lock may be held by an ingest for a while.
  auto work = [this, doc_id = std::move(doc_id)] { return document_sync(doc_id); };
  co_return co_await run_on(pool_.get_executor(), std::move(work));
}

std::optional<StoredDocument> Retriever::document_sync(const std::string& doc_id) const {
  std::shared_lock lock(store_mutex_);
  auto it = documents_.find(doc_id);
  if (it == documents_.end()) return std::nullopt;
  const DocumentInfo& d = it->second;
  return StoredDocument{doc_id, d.title, d.metadata, d.text, doc_chunks_.at(doc_id).size()};
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
  data.dim = static_cast<std::uint32_t>(active_embedder().dim());
  data.embedder_version = active_embedder().snapshot_version();
  data.analyzer = lexical_.analyzer().identity();
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
    data.replication_stream_id = position_.stream_id;
    data.replication_sequence = position_.sequence;
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
    data.has_documents = true;
    data.index_description = index_.describe();
    data.documents.reserve(docs.size());
    for (const auto& [id, doc_keys] : docs) {
      const DocumentInfo& d = documents_.at(std::string(id));
      data.documents.push_back(StoredDocument{std::string(id), d.title, d.metadata, d.text, doc_keys->size()});
    }
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
  const Embedder& running = active_embedder();
  const auto dim = static_cast<std::size_t>(running.dim());
  // BM25 is always rebuilt from the texts, with the running analyser; the built-in
  // embedder's vectors were made with the file's and must be too when that differs.
  const std::string_view file_analyzer = data->analyzer.empty() ? kLegacyAnalyzerIdentity : data->analyzer;
  const bool reanalysed = file_analyzer != lexical_.analyzer().identity();
  if (reanalysed) {
    spdlog::warn("snapshot {} was indexed with analyser '{}'; re-indexing {} chunks with '{}'", path, file_analyzer,
                 data->chunks.size(), lexical_.analyzer().identity());
  }
  if (data->dim != dim || data->embedder_version != running.snapshot_version() ||
      (reanalysed && !external_embedder_)) {
    // Texts are all we need: recompute vectors with the running embedder.
    spdlog::warn("snapshot {} has vectors of dim {} embedder version {:#x}; re-embedding {} chunks "
                 "for dim {} version {:#x} ({})",
                 path, data->dim, data->embedder_version, data->chunks.size(), dim, running.snapshot_version(),
                 running.identity());
    if (external_embedder_) {
      std::vector<std::string> texts;
      texts.reserve(data->chunks.size());
      for (const Chunk& c : data->chunks) texts.push_back(embedding_text(c));
      auto embedded = external_embedder_->embed_documents_sync(std::move(texts));
      if (!embedded) {
        spdlog::error("snapshot {} not loaded, starting with an empty index: re-embedding failed: {}", path,
                      embedded.error().message);
        return embedded.error();
      }
      data->vectors = std::move(*embedded);
    } else {
      data->vectors.assign(data->chunks.size() * dim, 0.0f);
      for (std::size_t i = 0; i < data->chunks.size(); ++i) {
        embedder_.embed_into(embedding_text(data->chunks[i]), data->vectors.data() + i * dim);
      }
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
    prepared.push_back(lexical_.prepare(c.id, embedding_text(c)));
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
  for (StoredDocument& d : data->documents) {
    documents_[d.id] = DocumentInfo{std::move(d.title), std::move(d.metadata), std::move(d.text)};
  }
  for (Chunk& c : data->chunks) {
    doc_chunks_[c.doc_id].push_back(c.id);
    const std::int64_t key = c.id;
    chunks_.emplace(key, std::move(c));
  }
  for (const auto& [id, doc_keys] : doc_chunks_) {
    // Files written before documents were stored: the text is pieced together from the
    // chunks, the title taken from the first chunk's (the document title comes first).
    if (documents_.count(id) != 0) continue;
    std::vector<const Chunk*> parts;
    for (auto key : doc_keys) parts.push_back(&chunks_.at(key));
    documents_[id] = DocumentInfo{document_title_of(parts), std::string(), text_from_chunks(parts)};
  }
  if (data->has_documents && data->index_description != index_.describe()) {
    spdlog::info("snapshot {} was saved by a '{}' index; built as '{}' from its vectors", path,
                 data->index_description, index_.describe());
  }
  next_chunk_key_.store(std::max(data->next_chunk_key, max_key + 1));
  version_.store(data->index_version);
  position_ = ReplicationPosition{data->replication_stream_id, data->replication_sequence};
  // After re-embedding or re-analysing, the file on disk no longer matches: the next save
  // rewrites it.
  saved_version_.store(stats.reembedded || reanalysed ? ~std::uint64_t{0} : data->index_version);
  stats.documents = doc_chunks_.size();
  stats.chunks = chunks_.size();
  stats.index_version = data->index_version;
  spdlog::info("snapshot loaded path={} version={} documents={} chunks={}", path, stats.index_version,
               stats.documents, stats.chunks);
  return stats;
}

}  // namespace ragd::retrieval
