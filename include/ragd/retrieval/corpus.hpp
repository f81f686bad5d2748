// Corpus: one tenant's documents and everything built from them, in memory: each
// document's title, metadata and text as ingested, its chunks (chunk key -> Chunk, doc id ->
// its chunk keys), the dense vector index and the lexical BM25 index, and the index version.
// Every tenant has a corpus of its own (corpora.hpp), so a search never sees, scores or
// pays for another tenant's chunks. Synchronous and passive: no threads, no timers, no I/O,
// no embedding (callers bring vectors; see search_service.hpp and local_writer.hpp).
//
// Consistency: one reader-writer lock keeps the store and both indexes in step. A search
// sees either all or none of a change: add() takes the lock only to apply what was
// prepared (chunked, embedded and tokenised) without it. version() grows by one with every
// add and every remove that changed something; it is part of answer-cache keys, so new
// documents are never hidden behind old answers.
//
// Metadata filters: each document's metadata is parsed once, when it is indexed (and when a
// snapshot is restored), into MetadataFields. A filtered search tests the filter against
// every document once, under the read lock, and restricts both lists to the matching
// documents' chunks: BM25 scores only those, the dense list is searched among them
// (VectorIndex::search_among). So a filtered search returns the top_k best matching
// chunks whenever that many exist, and a filter that matches nothing returns nothing.
//
// Listing: documents are kept in id order, so a page of the listing is found by its
// position (the last id of the previous page) under the read lock and only that page is
// copied out. A document added or removed between pages shifts no other document.
//
// Change position: a change may come from an ordered log (the replication stream, one for
// all tenants; Corpora keeps the position). version() then becomes the entry's sequence
// when that is ahead of it (so stores that applied the same entries report the same
// version), else it grows by one as usual; it never goes back.
//
// Thread-safety: every member function may be called from any thread concurrently.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/bm25_index.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/metadata_filter.hpp"
#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/text_analysis.hpp"
#include "ragd/retrieval/vector_index.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ragd::retrieval {

enum class SearchMode { dense, lexical, hybrid };

// "dense", "lexical", "hybrid"; nullopt for anything else.
std::optional<SearchMode> parse_search_mode(std::string_view name);
std::string_view to_string(SearchMode mode);

struct IngestStats {
  std::size_t documents = 0;        // documents indexed by this call
  std::size_t chunks = 0;           // chunks indexed by this call
  std::uint64_t index_version = 0;  // version() right after this call's change
};

// A change's place in an ordered change log (the ingest stream of ragd/replication).
struct ChangePosition {
  std::string stream_id;       // "" = no entry applied
  std::uint64_t sequence = 0;  // the entry's sequence number (0 = none)
};

// Documents cut into chunks, embedded and tokenised: ready for Corpus::add().
struct PreparedDocuments {
  std::vector<Document> documents;
  std::vector<Chunk> chunks;  // keys assigned (Corpus::allocate_keys)
  std::vector<Bm25Index::PreparedText> lexical;
  std::vector<float> vectors;  // chunks.size() * dim, row i belongs to chunks[i]
};

// One query of a batched search: its terms, its vector (empty = no dense list), what it
// asks for, and, once searched, its result.
struct CorpusQuery {
  AnalyzedText terms;
  std::vector<float> vector;
  int top_k = 0;
  SearchMode mode = SearchMode::hybrid;
  std::shared_ptr<const MetadataFilter> filter;  // null = every document
  std::optional<Result<std::vector<Hit>>> result;
};

// One page of the document listing, in id order.
struct DocumentPage {
  std::vector<DocumentSummary> documents;
  bool more = false;  // documents follow the last one of this page
};

// What a snapshot of the corpus needs from outside it.
struct EmbedderStamp {
  std::uint32_t dim = 0;
  std::uint32_t version = 0;  // Embedder::snapshot_version()
};

class Corpus {
 public:
  Corpus(const RetrievalConfig& config, int dim);
  Corpus(const Corpus&) = delete;
  Corpus& operator=(const Corpus&) = delete;

  // The first of `n` fresh chunk keys.
  std::int64_t allocate_keys(std::size_t n);

  // Indexes prepared documents, replacing documents already indexed under their ids; `at`:
  // the change's position (null = not from a log). All or nothing.
  Result<IngestStats> add(PreparedDocuments batch, const ChangePosition* at);
  // Removes a document; true when it was indexed. A remove at a position that finds
  // nothing still moves the version.
  Result<bool> remove(const std::string& doc_id, const ChangePosition* at);

  // Top `top_k` chunks for a query (its terms and vector; the vector empty in lexical mode
  // or when it could not be embedded), best first, without duplicate chunks or texts;
  // with a filter, the top `top_k` of the chunks of documents it matches.
  Result<std::vector<Hit>> search(const AnalyzedText& terms, const std::vector<float>& vector, int top_k,
                                  SearchMode mode, const MetadataFilter* filter = nullptr) const;
  // The same for many queries under one lock, with one dense index call for all: sets
  // each query's result.
  void search_batch(std::vector<CorpusQuery>& queries) const;
  // IDF of each term in the lexical index (for weighting query embeddings).
  void idf_of_terms(const AnalyzedText& terms, std::vector<float>& idf) const;
  // The analyser of both indexes (retrieval.analyzer): queries go through it before
  // search(), chunk texts through prepare_lexical() before add().
  const TextAnalyzer& analyzer() const { return lexical_.analyzer(); }
  // A chunk's text (indexed_text()) tokenised for the lexical index, under its document's
  // id (the document's BM25 score, retrieval.bm25_document_weight); needs no lock.
  Bm25Index::PreparedText prepare_lexical(std::int64_t key, std::string_view text, std::string_view doc_id) const {
    return lexical_.prepare(key, text, doc_id);
  }

  std::optional<StoredDocument> document(const std::string& doc_id) const;
  // Up to `limit` documents with ids after `after` ("" = from the first), in id order.
  DocumentPage list_documents(std::string_view after, std::size_t limit) const;
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::size_t chunk_count() const;
  std::size_t document_count() const;
  const VectorIndex& vector_index() const { return index_; }
  void set_index_rebuild_hook(std::function<void()> hook) { index_.set_rebuild_hook(std::move(hook)); }

  // Snapshots: the corpus as a TenantSnapshot (copied under the read lock; `tenant` left
  // empty), and back. restore() needs an empty corpus; vectors must be of this corpus's dim.
  Result<TenantSnapshot> snapshot() const;
  Result<void> restore(TenantSnapshot data);

 private:
  // Bumps version() for one change; call with mutex_ held (exclusive).
  std::uint64_t advance_version(const ChangePosition* at);
  // The chunk keys for a query, best first, `depth` deep; `dense`: the dense list when
  // already searched (batches), else null; `among`: only these keys (a filter's), else
  // null. Call with mutex_ held (shared).
  Result<std::vector<ScoredId>> ranked_keys(const AnalyzedText& terms, const std::vector<float>& vector, int depth,
                                            SearchMode mode, std::vector<ScoredId>* dense, const IdSet* among) const;
  Result<std::vector<Hit>> hits_locked(const AnalyzedText& terms, const std::vector<float>& vector, int top_k,
                                       SearchMode mode, std::vector<ScoredId>* dense,
                                       const MetadataFilter* filter) const;
  // The chunk keys of the documents `filter` matches. Call with mutex_ held (shared).
  // Remembered for the last kFilterMemo filters at the current version(): a filter that
  // repeats is tested against every document once per change of the corpus, not per query.
  std::shared_ptr<const IdSet> matching_keys(const MetadataFilter& filter) const;

  const RetrievalConfig config_;
  VectorIndex index_;
  Bm25Index lexical_;

  mutable std::shared_mutex mutex_;
  struct FilterMemo {
    std::string filter;  // MetadataFilter::canonical()
    std::uint64_t version = 0;
    std::shared_ptr<const IdSet> keys;
  };
  static constexpr std::size_t kFilterMemo = 8;
  mutable std::mutex memo_mutex_;       // guards memo_ (searches hold mutex_ shared)
  mutable std::vector<FilterMemo> memo_;  // most recently used first
  std::unordered_map<std::int64_t, Chunk> chunks_;
  std::unordered_map<std::string, std::vector<std::int64_t>> doc_chunks_;
  struct DocumentInfo {
    std::string title;
    std::string metadata;
    std::string text;
    MetadataFields fields;  // `metadata` parsed, for filters
  };
  // Same keys as doc_chunks_; in id order, for the listing.
  std::map<std::string, DocumentInfo, std::less<>> documents_;

  std::atomic<std::int64_t> next_chunk_key_{1};
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace ragd::retrieval
