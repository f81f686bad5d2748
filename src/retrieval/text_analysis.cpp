#include "ragd/retrieval/text_analysis.hpp"

#include "ragd/core/ascii.hpp"

#include <array>
#include <cstdint>

namespace ragd::retrieval {
namespace {

// Sorted, for the reader. Question words and generic verbs ("make", "get", "need")
// are here on purpose: "how do I make ..." says nothing about which passage answers it,
// and in a stored embedding (which has no corpus statistics, no IDF) such words would
// weigh as much as "volcano". BM25 would discount them anyway; one list keeps the dense
// and lexical sides seeing the same terms.
constexpr std::string_view kStopWords[] = {
    "a", "about", "above", "actually", "after", "again", "all", "also", "am", "an", "and",
    "any", "anything", "are", "as", "at", "be", "because", "been", "before", "being", "below",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "down", "during",
    "each", "else", "few", "for", "from", "further", "get", "gets", "getting", "got", "had",
    "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "kind", "let", "like", "lot", "lots", "made", "make",
    "makes", "making", "many", "me", "might", "more", "most", "much", "must", "my", "need",
    "needs", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "out", "over", "own", "please", "really", "same", "shall", "she", "should", "so",
    "some", "something", "sort", "such", "take", "takes", "tell", "tells", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "thing", "things", "this",
    "those", "through", "to", "told", "too", "took", "under", "until", "up", "very", "want",
    "wants", "was", "way", "ways", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "you", "your", "yours"};

constexpr std::size_t kLongestStopWord = 10;

// Every word of a query and of every chunk ingested is looked up here, so the list is an
// open-addressing table built at compile time: one short hash and, almost always, one
// comparison, where a binary search took eight.
constexpr std::size_t kStopTableSize = 512;  // a power of two, over twice the list

constexpr std::size_t stop_slot(std::string_view w) {
  std::uint32_t h = 2166136261u;
  for (char c : w) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return (h ^ (h >> 15)) & (kStopTableSize - 1);
}

constexpr std::array<std::string_view, kStopTableSize> make_stop_table() {
  std::array<std::string_view, kStopTableSize> table{};
  for (std::string_view w : kStopWords) {
    std::size_t slot = stop_slot(w);
    while (!table[slot].empty()) slot = (slot + 1) & (kStopTableSize - 1);
    table[slot] = w;
  }
  return table;
}

constexpr auto kStopTable = make_stop_table();

bool is_stop_word_impl(std::string_view w) {
  if (w.empty() || w.size() > kLongestStopWord) return false;
  for (std::size_t slot = stop_slot(w);; slot = (slot + 1) & (kStopTableSize - 1)) {
    if (kStopTable[slot].empty()) return false;
    if (kStopTable[slot] == w) return true;
  }
}

bool ends_with(std::string_view w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.substr(w.size() - suffix.size()) == suffix;
}

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// "running" -> "runn" -> "run", "stopped" -> "stopp" -> "stop"; but "called" keeps "ll".
void undouble(std::string& s) {
  const std::size_t n = s.size();
  if (n >= 3 && s[n - 1] == s[n - 2] && !is_vowel(s[n - 1]) && s[n - 1] != 'l' &&
      s[n - 1] != 's' && s[n - 1] != 'z' && s[n - 1] >= 'a' && s[n - 1] <= 'z') {
    s.pop_back();
  }
}

// Light suffix stemming: plural, -ing, -ed, then a final -e, so that "cache", "caches",
// "cached" and "caching" all become "cach". Deliberately simple; the character n-grams
// absorb what it misses. Writes the stem of `w` into `out`.
void stem_impl(std::string_view w, std::string& out) {
  out.assign(w);
  if (out.size() <= 3) return;
  if (ends_with(out, "ies") && out.size() > 4) {
    out.resize(out.size() - 3);
    out.push_back('y');
  } else if (ends_with(out, "sses") || ends_with(out, "xes") || ends_with(out, "zes") ||
             ends_with(out, "ches") || ends_with(out, "shes")) {
    out.resize(out.size() - 2);
  } else if (out.back() == 's' && !ends_with(out, "ss") && !ends_with(out, "us") &&
             !ends_with(out, "is")) {
    out.pop_back();
  }
  if (out.size() > 5 && ends_with(out, "ing")) {
    out.resize(out.size() - 3);
    undouble(out);
  } else if (out.size() > 4 && ends_with(out, "ed")) {
    out.resize(out.size() - 2);
    if (out.back() == 'i') out.back() = 'y';
    undouble(out);
  }
  if (out.size() > 3 && out.back() == 'e') out.pop_back();
}

bool is_word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

void AnalyzedText::push_back(std::string_view term) {
  spans_.emplace_back(static_cast<std::uint32_t>(terms_.size()), static_cast<std::uint32_t>(term.size()));
  terms_ += term;
}

bool is_stop_word(std::string_view word) { return is_stop_word_impl(word); }

void stem_into(std::string_view word, std::string& out) { stem_impl(word, out); }

void analyze_text(std::string_view text, AnalyzedText& out) {
  out.clear();
  thread_local std::string word;
  thread_local std::string stem;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    if (i == n) break;
    word.clear();
    while (i < n && is_word_byte(static_cast<unsigned char>(text[i]))) {
      const char c = ascii_lower(text[i++]);
      word.push_back(c);
    }
    if (is_stop_word_impl(word)) continue;
    stem_impl(word, stem);
    out.push_back(stem);
  }
}

std::vector<std::string> analyze_text(std::string_view text) {
  AnalyzedText terms;
  analyze_text(text, terms);
  std::vector<std::string> words;
  words.reserve(terms.size());
  for (std::size_t i = 0; i < terms.size(); ++i) words.emplace_back(terms.term(i));
  return words;
}

}  // namespace ragd::retrieval
