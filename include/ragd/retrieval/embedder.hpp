// HashEmbedder: the built-in, offline text embedder. It turns text into a fixed-size,
// L2-normalised vector by feature hashing: word unigrams (after lower-casing, stop-word
// removal and light suffix stemming), word bigrams, and character 3- to 5-grams of each
// word with boundary markers, each hashed (FNV-1a, finalised) to a signed bucket and
// weighted by sublinear term frequency (1 + ln tf). Deterministic across runs and
// machines, so vectors in a snapshot stay valid. Lexical, not semantic: texts that share
// words and word pieces land close together.
//
// Thread-safety: immutable after construction; embed() and embed_into() may be called
// from any number of threads at once (scratch space is thread-local).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

// Bumped whenever a change to the features or their weights changes the vectors, so that
// vectors stored in a snapshot by an older build are recomputed rather than mixed in.
inline constexpr std::uint32_t kHashEmbedderFeatureVersion = 1;

class HashEmbedder {
 public:
  // `dim` must be positive; values below 1 are clamped to 1.
  explicit HashEmbedder(int dim = 384);

  // A vector of dim() floats with L2 norm 1, or all zeros when the text has no features
  // (empty, punctuation only, or only stop words).
  std::vector<float> embed(std::string_view text) const;

  // Same as embed(), written into `out`, which must hold dim() floats.
  void embed_into(std::string_view text, float* out) const;

  // A query embedding whose features are scaled by `term_weight(term)` (the term's
  // unigram, its character n-grams and the bigram it ends), e.g. the term's IDF in the
  // corpus. Stored chunk vectors stay unweighted, so they never depend on corpus
  // statistics; weighting only the query still makes rare words count for more in the
  // dot product. A weight <= 0 drops the term.
  using TermWeight = std::function<float(std::string_view term)>;
  std::vector<float> embed_weighted(std::string_view text, const TermWeight& term_weight) const;

  int dim() const { return dim_; }

  // Identifies the function text -> vector (features and text analysis), not the dim.
  static std::uint32_t version();

 private:
  void embed_impl(std::string_view text, float* out, const TermWeight* term_weight) const;
  int dim_;
};

}  // namespace ragd::retrieval
