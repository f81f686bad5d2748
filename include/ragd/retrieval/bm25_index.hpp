// Bm25Index: the lexical index beside the dense one. An inverted index from terms (as its
// TextAnalyzer produces them: stop words dropped, Snowball-stemmed) to the chunks that
// hold them, scored with Okapi BM25 in Lucene's form:
//   score(q, d) = sum over query terms t of  idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl))
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
// with N the live chunks, df those holding t and |d| a chunk's length in terms. A term
// repeated in the query counts once per occurrence, as in a Lucene bag-of-words query.
// k1 and b are settings (retrieval.bm25_k1, retrieval.bm25_b); the defaults were chosen on
// SciFact's train queries (bench/results/2026-12-07-scifact-document-bm25.md).
//
// Documents: each chunk may name the document it belongs to (PreparedText::document).
// With a document weight w > 0 (retrieval.bm25_document_weight) a chunk's score becomes
//   score(q, chunk) + w * score(q, its document)
// where the document is scored by the same formula as the concatenation of its live
// chunks: tf summed over them, |d| their summed length, N the live documents, df the
// documents holding t, avgdl the mean document length. A passage of a document that
// matches the query as a whole ranks above an equally good passage of one that does not
// (passage retrieval with document evidence, Callan, SIGIR 1994); the results are still
// chunks, and only chunks holding a query term are returned. Document statistics are made
// during the search from the postings (no per-document index), so w = 0 costs nothing and
// w > 0 one more step per posting and per matching document. A chunk without a document
// gets no document score and counts in no document statistic.
//
// Posting lists are plain vectors in insertion order. Removing a chunk only marks it dead
// (its postings are skipped when scoring); when dead postings reach a quarter of all
// postings the lists are compacted in one pass, so replacing documents costs amortised
// O(postings) rather than a search through every list the chunk touched.
//
// Thread-safety: searches run concurrently under a shared lock; add() and remove() take it
// exclusively. prepare() needs no lock at all, so the caller can tokenise outside its
// own critical section and only insert inside it.
#pragma once

#include "ragd/retrieval/text_analysis.hpp"
#include "ragd/retrieval/vector_index.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

struct Bm25Params {  // the defaults of RetrievalConfig
  double k1 = 1.2;
  double b = 0.5;
  double document_weight = 0.0;  // w above; 0 = chunks scored alone
};

class Bm25Index {
 public:
  // A chunk's terms with their counts, ready to insert.
  struct PreparedText {
    std::int64_t id = 0;
    std::uint32_t length = 0;  // terms in the text
    std::vector<std::pair<std::string, std::uint32_t>> terms;  // distinct term, count
    std::string document;      // the document the chunk belongs to; "" = none
  };

  explicit Bm25Index(Bm25Params params = {}, const AnalyzerConfig& analyzer = {});
  ~Bm25Index();
  Bm25Index(const Bm25Index&) = delete;
  Bm25Index& operator=(const Bm25Index&) = delete;

  // Tokenises `text` for add(); no lock. `document`: see "Documents" above.
  PreparedText prepare(std::int64_t id, std::string_view text, std::string_view document = {}) const;

  // Indexes the texts; an id that is present is replaced (upsert). A text without terms
  // is still counted as a chunk (it can never match). Ids in one call must be distinct.
  void add(std::vector<PreparedText> texts);
  void add(std::int64_t id, std::string_view text);

  // Removes the ids that are present; returns how many were removed.
  std::size_t remove(const std::vector<std::int64_t>& ids);

  // Up to k (id, BM25 score) pairs with a positive score, best first; ties go to the
  // smaller id, so results are deterministic.
  std::vector<ScoredId> search(std::string_view query, int k) const;
  // search() of a query already analysed by analyzer(); `among` set: only chunks whose ids
  // it holds are scored and returned, each with the score an unrestricted search gives it.
  std::vector<ScoredId> search_terms(const AnalyzedText& query, int k, const IdSet* among = nullptr) const;

  // idf(t) above for one analysed term (a stem, as analyzer() gives); a term no live
  // chunk holds gets the largest value, df = 0. 0 when the index is empty.
  double idf(std::string_view term) const;
  // idf() of every term of an analysed query, by position (out[i] for terms.term(i)), under
  // one lock: what the query embedding weighs its terms by.
  void idf_of_terms(const AnalyzedText& terms, std::vector<float>& out) const;

  bool contains(std::int64_t id) const;
  std::size_t size() const;  // live chunks
  std::size_t document_count() const;  // documents with a live chunk
  const Bm25Params& params() const { return params_; }
  const TextAnalyzer& analyzer() const { return analyzer_; }

 private:
  struct Impl;
  Bm25Params params_;
  TextAnalyzer analyzer_;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::retrieval
