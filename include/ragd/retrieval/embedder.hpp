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

#include <string_view>
#include <vector>

namespace ragd::retrieval {

class HashEmbedder {
 public:
  // `dim` must be positive; values below 1 are clamped to 1.
  explicit HashEmbedder(int dim = 384);

  // A vector of dim() floats with L2 norm 1, or all zeros when the text has no features
  // (empty, punctuation only, or only stop words).
  std::vector<float> embed(std::string_view text) const;

  // Same as embed(), written into `out`, which must hold dim() floats.
  void embed_into(std::string_view text, float* out) const;

  int dim() const { return dim_; }

 private:
  int dim_;
};

}  // namespace ragd::retrieval
