// TextAnalyzer: the one word normalisation of the retrieval module, shared by the hash
// embedder and the BM25 index so that both see the same terms. ASCII is lower-cased and
// every other ASCII byte separates words; bytes >= 0x80 (UTF-8 letters of other scripts)
// stay inside words. The language's stop words are dropped and what remains is stemmed by
// the language's Snowball stemmer ("running", "runs" -> "run"; "caches", "cached",
// "caching" -> "cach").
//
// The language is a deployment setting (retrieval.analyzer in the config): one of
// kAnalyzerLanguages (core/config.hpp). Stop words can be switched off. The rules engine (a lower module)
// splits words the same way but neither stems nor drops stop words, because rule keywords
// must match what the user typed.
//
// Changing the analyser changes every hash embedding and every BM25 term. identity() names
// it (language, stop words, kTextAnalysisVersion); snapshots record it, and a snapshot
// made with another analyser is re-indexed at load. Bump kTextAnalysisVersion whenever the
// tokeniser, a stop list or the stemmer changes.
//
// Thread-safety: a TextAnalyzer is immutable after construction; analyze() may be called
// from any thread concurrently (each thread keeps its own Snowball stemmer).
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

inline constexpr std::uint32_t kTextAnalysisVersion = 2;

// The identity of the analyser of files written before snapshots recorded one: the
// version 1 analyser (English stop words, a light suffix stemmer).
inline constexpr std::string_view kLegacyAnalyzerIdentity = "english+stop/1";

// The terms of one text, in order, stored back to back in one buffer so that analysing a
// text allocates only while the buffers grow (reuse one AnalyzedText per thread).
class AnalyzedText {
 public:
  std::size_t size() const { return spans_.size(); }
  bool empty() const { return spans_.empty(); }
  std::string_view term(std::size_t i) const {
    return {terms_.data() + spans_[i].first, spans_[i].second};
  }
  void clear() {
    terms_.clear();
    spans_.clear();
  }
  void push_back(std::string_view term);

 private:
  std::string terms_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> spans_;  // offset, size in terms_
};

class TextAnalyzer {
 public:
  // An unknown language throws std::invalid_argument (the config loader refuses it first).
  explicit TextAnalyzer(const AnalyzerConfig& config = {});

  // Replaces the contents of `out` with the terms of `text`.
  void analyze(std::string_view text, AnalyzedText& out) const;
  // For callers that want a plain list (tests, tools).
  std::vector<std::string> analyze(std::string_view text) const;

  // `word` must already be lower-cased. False for every word when stop words are off.
  bool is_stop_word(std::string_view word) const;
  // The stem of a lower-cased word, written into `out`.
  void stem_into(std::string_view word, std::string& out) const;

  // "<language>+stop/<version>" or "<language>/<version>": equal identities give equal terms.
  const std::string& identity() const { return identity_; }
  const AnalyzerConfig& config() const { return config_; }

 private:
  AnalyzerConfig config_;
  std::size_t language_;  // index into analyzer_languages()
  std::string identity_;
};

}  // namespace ragd::retrieval
