// analyze_text(): the one word normalisation of the retrieval module, shared by the hash
// embedder and the BM25 index so that both see the same terms. ASCII is lower-cased and
// every other ASCII byte separates words; bytes >= 0x80 (UTF-8 letters of other scripts)
// stay inside words. Stop words are dropped and what remains is stemmed lightly (plurals,
// -ing, -ed, a final -e: "cache", "caches", "cached", "caching" -> "cach").
//
// The rules engine (a lower module) splits words the same way but neither stems nor drops
// stop words, because rule keywords must match what the user typed.
//
// Changing the stop words or the stemmer changes every embedding and every BM25 term:
// bump kTextAnalysisVersion so that snapshots made with the old terms are re-embedded.
//
// Pure functions: no shared state; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

inline constexpr std::uint32_t kTextAnalysisVersion = 1;

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

// Replaces the contents of `out` with the terms of `text`.
void analyze_text(std::string_view text, AnalyzedText& out);

// For callers that want a plain list (tests, tools).
std::vector<std::string> analyze_text(std::string_view text);

// `word` must already be lower-cased.
bool is_stop_word(std::string_view word);

// The stem of a lower-cased word, written into `out`.
void stem_into(std::string_view word, std::string& out);

}  // namespace ragd::retrieval
