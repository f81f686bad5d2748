// Embedders turn text into fixed-size, L2-normalised vectors for the dense index.
//
// Embedder is the interface the Retriever uses: HashEmbedder (below, built in, offline)
// and RemoteEmbedder (remote_embedder.hpp: an OpenAI-compatible /v1/embeddings service),
// optionally behind CachedEmbedder (embedding_cache.hpp). Queries and documents are
// separate calls because they are treated differently: a query is one interactive text
// (served first, cached), documents are bulk (batched, not cached).
//
// HashEmbedder: the built-in, offline text embedder. It turns text into a fixed-size,
// L2-normalised vector by feature hashing: word unigrams (after lower-casing, stop-word
// removal and light suffix stemming), word bigrams, and character 3- to 5-grams of each
// word with boundary markers, each hashed (FNV-1a, finalised) to a signed bucket and
// weighted by sublinear term frequency (1 + ln tf). Deterministic across runs and
// machines, so vectors in a snapshot stay valid. Lexical, not semantic: texts that share
// words and word pieces land close together.
//
// Thread-safety: every Embedder may be called from any thread at once. HashEmbedder is
// immutable after construction (scratch space is thread-local).
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

// Bumped whenever a change to the features or their weights changes the vectors, so that
// vectors stored in a snapshot by an older build are recomputed rather than mixed in.
inline constexpr std::uint32_t kHashEmbedderFeatureVersion = 1;

class Embedder {
 public:
  virtual ~Embedder() = default;

  virtual int dim() const = 0;
  // "hash" or "openai"; with model() and dim() it names the function text -> vector.
  virtual std::string name() const = 0;
  virtual std::string model() const = 0;
  // Stored in snapshots beside dim(): vectors made by another embedder are recomputed.
  virtual std::uint32_t snapshot_version() const = 0;

  // One query's vector (dim() floats). Errors: upstream_error (the service failed or
  // answered something unusable, e.g. vectors of another dim), unavailable,
  // deadline_exceeded, cancelled.
  virtual boost::asio::awaitable<Result<std::vector<float>>> embed_query(std::string text) = 0;
  // texts.size() * dim() floats, row i for texts[i]; errors as embed_query().
  virtual boost::asio::awaitable<Result<std::vector<float>>> embed_documents(std::vector<std::string> texts) = 0;
  // The blocking form of embed_documents(), for start-up and tools; never on an I/O thread.
  virtual Result<std::vector<float>> embed_documents_sync(std::vector<std::string> texts) = 0;

  // "name/model/dim": cache keys and logs.
  std::string identity() const;
};

class HashEmbedder final : public Embedder {
 public:
  // `dim` must be positive; values below 1 are clamped to 1. Texts are analysed into terms
  // by a TextAnalyzer of `analyzer`, the same as the BM25 index's.
  explicit HashEmbedder(int dim = 384, const AnalyzerConfig& analyzer = {});

  // A vector of dim() floats with L2 norm 1, or all zeros when the text has no features
  // (empty, punctuation only, or only stop words).
  std::vector<float> embed(std::string_view text) const;

  // Same as embed(), written into `out`, which must hold dim() floats.
  void embed_into(std::string_view text, float* out) const;

  // A query embedding of text already analysed (analyzer(), so the caller can search
  // the lexical index with the same terms), whose features are scaled by `weights[i]` for
  // term i (the term's unigram, its character n-grams and the bigram it ends), e.g. the
  // term's IDF in the corpus (Bm25Index::idf_of_terms()). Stored chunk vectors stay
  // unweighted, so they never depend on corpus statistics; weighting only the query still
  // makes rare words count for more in the dot product. A weight <= 0 drops the term; a
  // weight of 1 everywhere gives the same vector as embed(). One weight per term, or
  // std::invalid_argument.
  std::vector<float> embed_terms(const AnalyzedText& terms, const std::vector<float>& weights) const;

  int dim() const override { return dim_; }
  std::string name() const override { return "hash"; }
  std::string model() const override;  // "v<version()>-<analyzer().identity()>"
  std::uint32_t snapshot_version() const override { return version(); }

  // Computed on the calling thread: cheap CPU work, no I/O.
  boost::asio::awaitable<Result<std::vector<float>>> embed_query(std::string text) override;
  boost::asio::awaitable<Result<std::vector<float>>> embed_documents(std::vector<std::string> texts) override;
  Result<std::vector<float>> embed_documents_sync(std::vector<std::string> texts) override;

  // Identifies the function terms -> vector and the analyser's version, not the dim nor
  // the analyser's language (snapshots record that apart: see snapshot.hpp).
  static std::uint32_t version();
  const TextAnalyzer& analyzer() const { return analyzer_; }

 private:
  // weights: one per term position, or null for 1 each.
  void embed_terms_into(const AnalyzedText& terms, float* out, const float* weights) const;
  int dim_;
  TextAnalyzer analyzer_;
};

}  // namespace ragd::retrieval
