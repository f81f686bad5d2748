#include "ragd/retrieval/retriever.hpp"

#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/offload.hpp"

#include <algorithm>
#include <mutex>
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

}  // namespace

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
      embedder_(config.embedding_dim),
      index_(embedder_.dim()),
      pool_(static_cast<std::size_t>(std::max(1, config.search_threads))) {}

Retriever::~Retriever() {
  // Lets work already posted finish (its coroutines still expect an answer) before the
  // store and index it uses are destroyed.
  pool_.join();
}

boost::asio::awaitable<Result<std::vector<Hit>>> Retriever::search(std::string query, int top_k) {
  auto work = [this, query = std::move(query), top_k] { return search_sync(query, top_k); };
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
  co_return co_await run_on(pool_.get_executor(), std::move(work));
}

boost::asio::awaitable<Result<bool>> Retriever::remove(std::string doc_id) {
  auto work = [this, doc_id = std::move(doc_id)] { return remove_sync(doc_id); };
  co_return co_await run_on(pool_.get_executor(), std::move(work));
}

Result<std::vector<Hit>> Retriever::search_sync(std::string_view query, int top_k) const {
  if (is_blank(query)) return make_error(Errc::bad_request, "query is empty");
  if (top_k < 1) return make_error(Errc::bad_request, "top_k must be at least 1");

  const std::vector<float> vec = embedder_.embed(query);
  if (std::all_of(vec.begin(), vec.end(), [](float x) { return x == 0.0f; })) {
    return std::vector<Hit>{};  // only stop words or punctuation: nothing to match on
  }
  // A few spare results make up for the duplicates dropped below.
  const int fetch = top_k + std::min(top_k, 8);

  std::shared_lock lock(store_mutex_);
  auto found = index_.search(vec.data(), fetch);
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
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].id = next_chunk_key_.fetch_add(1, std::memory_order_relaxed);
    keys[i] = chunks[i].id;
    embedder_.embed_into(embedding_text(chunks[i]), vectors.data() + i * dim);
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

}  // namespace ragd::retrieval
