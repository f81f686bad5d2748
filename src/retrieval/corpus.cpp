#include "ragd/retrieval/corpus.hpp"

#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/fusion.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_set>
#include <utility>

namespace ragd::retrieval {
namespace {

bool is_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

bool filtered(const CorpusQuery& q) { return q.filter != nullptr && !q.filter->empty(); }

// A few spare results make up for the duplicates dropped from the hits.
int fetch_depth(int top_k) { return top_k + std::min(top_k, 8); }

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

Corpus::Corpus(const RetrievalConfig& config, int dim)
    : config_(config),
      index_(dim, config.index),
      lexical_(Bm25Params{config.bm25_k1, config.bm25_b, config.bm25_document_weight}, config.analyzer) {}

std::int64_t Corpus::allocate_keys(std::size_t n) {
  return next_chunk_key_.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
}

std::uint64_t Corpus::advance_version(const ChangePosition* at) {
  const std::uint64_t current = version_.load(std::memory_order_acquire);
  std::uint64_t next = current + 1;
  if (at && at->sequence > current) next = at->sequence;
  version_.store(next, std::memory_order_release);
  return next;
}

Result<IngestStats> Corpus::add(PreparedDocuments batch, const ChangePosition* at) {
  const auto dim = static_cast<std::size_t>(index_.dim());
  std::vector<Chunk>& chunks = batch.chunks;
  if (batch.vectors.size() != chunks.size() * dim) {
    return make_error(Errc::internal, "embedder returned " + std::to_string(batch.vectors.size()) + " floats for " +
                                          std::to_string(chunks.size()) + " chunks of dim " + std::to_string(dim));
  }
  std::vector<std::int64_t> keys(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) keys[i] = chunks[i].id;

  std::unique_lock lock(mutex_);
  std::vector<std::int64_t> replaced;
  for (const Document& d : batch.documents) {
    auto it = doc_chunks_.find(d.id);
    if (it != doc_chunks_.end()) replaced.insert(replaced.end(), it->second.begin(), it->second.end());
  }
  // Add before removing: if FAISS fails on add, the old version is still whole.
  if (auto added = index_.add(keys, batch.vectors.data(), chunks.size()); !added) return added.error();
  if (auto removed = index_.remove(replaced); !removed) {
    // Keep the store and the index in step: take the new chunks out again.
    (void)index_.remove(keys);
    return removed.error();
  }
  lexical_.remove(replaced);
  lexical_.add(std::move(batch.lexical));
  for (auto key : replaced) chunks_.erase(key);
  for (const Document& d : batch.documents) doc_chunks_[d.id].clear();
  for (auto& c : chunks) {
    doc_chunks_[c.doc_id].push_back(c.id);
    chunks_.emplace(c.id, std::move(c));
  }
  for (Document& d : batch.documents) {
    MetadataFields fields = MetadataFields::parse(d.metadata);
    documents_[d.id] = DocumentInfo{std::move(d.title), std::move(d.metadata), std::move(d.text), std::move(fields)};
  }
  const std::uint64_t v = advance_version(at);
  return IngestStats{batch.documents.size(), keys.size(), v};
}

Result<bool> Corpus::remove(const std::string& doc_id, const ChangePosition* at) {
  std::unique_lock lock(mutex_);
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

Result<std::vector<ScoredId>> Corpus::ranked_keys(const AnalyzedText& terms, const std::vector<float>& vector,
                                                  int depth, SearchMode mode, std::vector<ScoredId>* searched,
                                                  const IdSet* among) const {
  std::vector<ScoredId> dense;
  if (searched) {
    dense = std::move(*searched);
  } else if (mode != SearchMode::lexical && !vector.empty() && !is_zero(vector)) {
    const int list_depth = mode == SearchMode::hybrid ? std::max(depth, config_.candidates) : depth;
    auto found = among ? index_.search_among(vector.data(), list_depth, *among) : index_.search(vector.data(), list_depth);
    if (!found) return found.error();
    dense = std::move(*found);
  }
  if (mode == SearchMode::dense) return dense;
  if (mode == SearchMode::lexical) return lexical_.search_terms(terms, depth, among);
  std::vector<std::vector<ScoredId>> lists;
  lists.push_back(std::move(dense));
  lists.push_back(lexical_.search_terms(terms, std::max(depth, config_.candidates), among));
  return fuse(lists, hybrid_fusion(config_), static_cast<std::size_t>(depth));
}

Result<std::vector<Hit>> Corpus::search(const AnalyzedText& terms, const std::vector<float>& vector, int top_k,
                                        SearchMode mode, const MetadataFilter* filter) const {
  std::shared_lock lock(mutex_);
  return hits_locked(terms, vector, top_k, mode, nullptr, filter);
}

std::shared_ptr<const IdSet> Corpus::matching_keys(const MetadataFilter& filter) const {
  std::string canonical = filter.canonical();
  const std::uint64_t v = version();  // stable: writers need mutex_ exclusive
  {
    std::lock_guard memo_lock(memo_mutex_);
    auto it = std::find_if(memo_.begin(), memo_.end(),
                           [&](const FilterMemo& m) { return m.version == v && m.filter == canonical; });
    if (it != memo_.end()) {
      std::rotate(memo_.begin(), it, it + 1);
      return memo_.front().keys;
    }
  }
  std::vector<std::int64_t> keys;
  for (const auto& [id, doc] : documents_) {
    if (!filter.matches(doc.fields)) continue;
    const auto& chunk_keys = doc_chunks_.at(id);
    keys.insert(keys.end(), chunk_keys.begin(), chunk_keys.end());
  }
  auto found = std::make_shared<const IdSet>(std::move(keys));
  std::lock_guard memo_lock(memo_mutex_);
  std::erase_if(memo_, [&](const FilterMemo& m) { return m.version != v; });
  if (memo_.size() >= kFilterMemo) memo_.pop_back();
  memo_.insert(memo_.begin(), FilterMemo{std::move(canonical), v, found});
  return found;
}

Result<std::vector<Hit>> Corpus::hits_locked(const AnalyzedText& terms, const std::vector<float>& vector, int top_k,
                                             SearchMode mode, std::vector<ScoredId>* dense,
                                             const MetadataFilter* filter) const {
  std::shared_ptr<const IdSet> among;
  if (filter != nullptr && !filter->empty()) {
    among = matching_keys(*filter);
    if (among->empty()) return std::vector<Hit>();
  }
  auto found = ranked_keys(terms, vector, fetch_depth(top_k), mode, dense, among.get());
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

void Corpus::search_batch(std::vector<CorpusQuery>& queries) const {
  std::vector<float> flat;
  std::vector<std::size_t> searched;  // positions with a non-zero vector
  int depth = 0;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const CorpusQuery& q = queries[i];
    // A filtered query searches its own dense list, among its filter's chunks.
    if (q.mode == SearchMode::lexical || q.vector.empty() || is_zero(q.vector) || filtered(q)) continue;
    searched.push_back(i);
    flat.insert(flat.end(), q.vector.begin(), q.vector.end());
    const int fetch = fetch_depth(q.top_k);
    depth = std::max(depth, q.mode == SearchMode::hybrid ? std::max(fetch, config_.candidates) : fetch);
  }
  std::shared_lock lock(mutex_);
  std::vector<std::vector<ScoredId>> dense(queries.size());
  if (!searched.empty()) {
    auto found = index_.search_batch(flat.data(), searched.size(), depth);
    if (!found) {
      for (auto& q : queries) q.result.emplace(found.error());
      return;
    }
    for (std::size_t j = 0; j < searched.size(); ++j) dense[searched[j]] = std::move((*found)[j]);
  }
  for (std::size_t i = 0; i < queries.size(); ++i) {
    CorpusQuery& q = queries[i];
    if (filtered(q)) {
      q.result.emplace(hits_locked(q.terms, q.vector, q.top_k, q.mode, nullptr, q.filter.get()));
      continue;
    }
    // Each query keeps its own depth of the shared list (a prefix: the list is ranked).
    const int fetch = fetch_depth(q.top_k);
    const auto own = static_cast<std::size_t>(q.mode == SearchMode::hybrid ? std::max(fetch, config_.candidates) : fetch);
    if (dense[i].size() > own) dense[i].resize(own);
    q.result.emplace(hits_locked(q.terms, q.vector, q.top_k, q.mode, &dense[i], nullptr));
  }
}

void Corpus::idf_of_terms(const AnalyzedText& terms, std::vector<float>& idf) const {
  lexical_.idf_of_terms(terms, idf);
}

std::optional<StoredDocument> Corpus::document(const std::string& doc_id) const {
  std::shared_lock lock(mutex_);
  auto it = documents_.find(doc_id);
  if (it == documents_.end()) return std::nullopt;
  const DocumentInfo& d = it->second;
  return StoredDocument{doc_id, d.title, d.metadata, d.text, doc_chunks_.at(doc_id).size()};
}

DocumentPage Corpus::list_documents(std::string_view after, std::size_t limit) const {
  DocumentPage page;
  std::shared_lock lock(mutex_);
  auto it = after.empty() ? documents_.begin() : documents_.upper_bound(after);
  for (; it != documents_.end() && page.documents.size() < limit; ++it) {
    const DocumentInfo& d = it->second;
    page.documents.push_back(DocumentSummary{it->first, d.title, d.metadata, doc_chunks_.at(it->first).size()});
  }
  page.more = it != documents_.end();
  return page;
}

std::size_t Corpus::chunk_count() const {
  std::shared_lock lock(mutex_);
  return chunks_.size();
}

std::size_t Corpus::document_count() const {
  std::shared_lock lock(mutex_);
  return doc_chunks_.size();
}

Result<TenantSnapshot> Corpus::snapshot() const {
  TenantSnapshot data;
  const auto dim = static_cast<std::size_t>(index_.dim());
  std::shared_lock lock(mutex_);
  data.index_version = version();
  data.next_chunk_key = next_chunk_key_.load();
  // Documents in id order and chunks in position order: equal stores give equal files.
  std::map<std::string_view, const std::vector<std::int64_t>*> docs;
  for (const auto& [id, keys] : doc_chunks_) docs.emplace(id, &keys);
  std::vector<std::int64_t> keys;
  keys.reserve(chunks_.size());
  for (const auto& [id, doc_keys] : docs) keys.insert(keys.end(), doc_keys->begin(), doc_keys->end());
  data.chunks.reserve(keys.size());
  for (auto key : keys) data.chunks.push_back(chunks_.at(key));
  data.vectors.resize(keys.size() * dim);
  if (auto r = index_.reconstruct(keys, data.vectors.data()); !r) return r.error();
  data.documents.reserve(docs.size());
  for (const auto& [id, doc_keys] : docs) {
    const DocumentInfo& d = documents_.find(id)->second;
    data.documents.push_back(StoredDocument{std::string(id), d.title, d.metadata, d.text, doc_keys->size()});
  }
  return data;
}

Result<void> Corpus::restore(TenantSnapshot data) {
  std::vector<std::int64_t> keys;
  keys.reserve(data.chunks.size());
  std::vector<Bm25Index::PreparedText> prepared;
  prepared.reserve(data.chunks.size());
  std::int64_t max_key = 0;
  for (const Chunk& c : data.chunks) {
    keys.push_back(c.id);
    prepared.push_back(lexical_.prepare(c.id, indexed_text(c), c.doc_id));
    max_key = std::max(max_key, c.id);
  }
  std::unique_lock lock(mutex_);
  if (!chunks_.empty()) {
    return make_error(Errc::internal, "load_snapshot needs an empty index; it holds " +
                                          std::to_string(chunks_.size()) + " chunks");
  }
  if (auto added = index_.add(keys, data.vectors.data(), keys.size()); !added) return added.error();
  lexical_.add(std::move(prepared));
  for (StoredDocument& d : data.documents) {
    MetadataFields fields = MetadataFields::parse(d.metadata);
    documents_[d.id] = DocumentInfo{std::move(d.title), std::move(d.metadata), std::move(d.text), std::move(fields)};
  }
  for (Chunk& c : data.chunks) {
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
    documents_[id] = DocumentInfo{document_title_of(parts), std::string(), text_from_chunks(parts), {}};
  }
  next_chunk_key_.store(std::max(data.next_chunk_key, max_key + 1));
  version_.store(data.index_version);
  std::lock_guard memo_lock(memo_mutex_);
  memo_.clear();  // the restored version may equal the empty corpus's
  return {};
}

}  // namespace ragd::retrieval
