#include "ragd/retrieval/embedder.hpp"

#include <algorithm>
#include <iterator>
#include <cmath>
#include <cstdint>
#include <string>

namespace ragd::retrieval {
namespace {

// Feature weights. Unigrams carry the meaning; bigrams reward shared phrases; character
// n-grams let "index", "indexes" and "indexing" (and small typos) meet even where the
// stemmer does not unify them. A word's n-grams share kCharGramNorm of L2 mass in total
// (about 0.3 per n-gram for a 6-letter word), so a long word does not outweigh short
// ones. The n-gram mass was tuned on a question-to-passage test at 384 dimensions: the
// many small, overlapping n-gram matches raise the right passage above the noise that
// hash collisions add at that size, so lowering it costs accuracy.
constexpr float kUnigramWeight = 1.0f;
constexpr float kBigramWeight = 0.5f;
constexpr float kCharGramNorm = 1.2f;
constexpr int kMinGram = 3;
constexpr int kMaxGram = 5;
// Words longer than this (hashes, base64, URLs) get no character n-grams: they are rarely
// matched by pieces, and would flood the vector.
constexpr std::size_t kMaxCharGramWord = 24;

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

constexpr std::uint64_t fnv_step(std::uint64_t h, unsigned char c) { return (h ^ c) * kFnvPrime; }

constexpr std::uint64_t fnv(std::uint64_t h, std::string_view s) {
  for (char c : s) h = fnv_step(h, static_cast<unsigned char>(c));
  return h;
}

// FNV-1a mixes its low bits poorly for short keys; murmur's fmix64 spreads every input
// bit over the bucket and sign bits.
constexpr std::uint64_t finalize(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// One seed per feature kind, so the word "abc" and the trigram "abc" hash apart.
constexpr std::uint64_t kUnigramSeed = fnv_step(kFnvOffset, 'U');
constexpr std::uint64_t kBigramSeed = fnv_step(kFnvOffset, 'B');
constexpr std::uint64_t kCharGramSeed = fnv_step(kFnvOffset, 'C');

// Sorted, for binary search. Question words and generic verbs ("make", "get", "need")
// are here on purpose: "how do I make ..." says nothing about which passage answers it,
// and with no corpus statistics (no IDF) such words would weigh as much as "volcano".
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

bool is_stop_word(std::string_view w) {
  if (w.size() > kLongestStopWord) return false;
  return std::binary_search(std::begin(kStopWords), std::end(kStopWords), w);
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
void stem_into(std::string_view w, std::string& out) {
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

struct Feature {
  std::uint64_t hash;
  float weight;
};

struct Word {
  std::uint32_t word_offset, word_size;  // in Scratch::words
  std::uint32_t stem_offset, stem_size;  // in Scratch::stems
};

// Reused across calls on one thread, so embedding allocates only while a buffer grows.
struct Scratch {
  std::string words;  // the kept words, lower-cased, back to back
  std::string stems;  // their stems, back to back
  std::string stem;   // the stem being built
  std::vector<Word> kept;
  std::vector<Feature> features;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Lower-cases ASCII, treats other ASCII as separators, keeps bytes >= 0x80 (UTF-8 letters
// of other scripts) inside words; drops stop words; stems what remains.
void tokenize(std::string_view text, Scratch& s) {
  s.words.clear();
  s.stems.clear();
  s.kept.clear();
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) break;
      ++i;
    }
    if (i == n) break;
    const std::size_t offset = s.words.size();
    while (i < n) {
      auto c = static_cast<unsigned char>(text[i]);
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<unsigned char>(c - 'A' + 'a');
      } else if (!(c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) {
        break;
      }
      s.words.push_back(static_cast<char>(c));
      ++i;
    }
    const std::string_view word(s.words.data() + offset, s.words.size() - offset);
    if (is_stop_word(word)) {
      s.words.resize(offset);
      continue;
    }
    stem_into(word, s.stem);
    const std::size_t stem_offset = s.stems.size();
    s.stems += s.stem;
    s.kept.push_back(Word{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(word.size()),
                          static_cast<std::uint32_t>(stem_offset),
                          static_cast<std::uint32_t>(s.stem.size())});
  }
}

// The n-grams of "<word>" without building that string: position 0 is '<', the last is
// '>', the rest are the word's bytes.
void add_char_grams(std::string_view word, std::vector<Feature>& out) {
  const int len = static_cast<int>(word.size()) + 2;
  int count = 0;
  for (int g = kMinGram; g <= kMaxGram; ++g) count += std::max(0, len - g + 1);
  if (count == 0) return;
  const float weight = kCharGramNorm / std::sqrt(static_cast<float>(count));
  auto at = [&](int p) -> unsigned char {
    if (p == 0) return '<';
    if (p == len - 1) return '>';
    return static_cast<unsigned char>(word[static_cast<std::size_t>(p - 1)]);
  };
  for (int start = 0; start + kMinGram <= len; ++start) {
    std::uint64_t h = kCharGramSeed;
    for (int p = start; p < start + kMaxGram && p < len; ++p) {
      h = fnv_step(h, at(p));
      if (p - start + 1 >= kMinGram) out.push_back(Feature{h, weight});
    }
  }
}

}  // namespace

HashEmbedder::HashEmbedder(int dim) : dim_(dim < 1 ? 1 : dim) {}

std::vector<float> HashEmbedder::embed(std::string_view text) const {
  std::vector<float> v(static_cast<std::size_t>(dim_));
  embed_into(text, v.data());
  return v;
}

void HashEmbedder::embed_into(std::string_view text, float* out) const {
  std::fill(out, out + dim_, 0.0f);
  Scratch& s = scratch();
  tokenize(text, s);
  s.features.clear();
  for (std::size_t i = 0; i < s.kept.size(); ++i) {
    const Word& w = s.kept[i];
    const std::string_view stem(s.stems.data() + w.stem_offset, w.stem_size);
    s.features.push_back(Feature{fnv(kUnigramSeed, stem), kUnigramWeight});
    if (i > 0) {
      const Word& p = s.kept[i - 1];
      std::uint64_t h = fnv(kBigramSeed, std::string_view(s.stems.data() + p.stem_offset, p.stem_size));
      h = fnv_step(h, 0x1f);  // a separator no word contains: "ab"+"c" differs from "a"+"bc"
      s.features.push_back(Feature{fnv(h, stem), kBigramWeight});
    }
    // N-grams of the stem, not the surface word: forms the stemmer unifies then match
    // completely, and forms it misses ("explode", "explosive") still share pieces.
    if (stem.size() <= kMaxCharGramWord) add_char_grams(stem, s.features);
  }
  if (s.features.empty()) return;

  // Equal features sit together after sorting; each distinct one contributes its weight
  // times 1 + ln(tf), so a word repeated ten times counts a little over three times.
  std::sort(s.features.begin(), s.features.end(),
            [](const Feature& a, const Feature& b) { return a.hash < b.hash; });
  const auto dim = static_cast<std::uint64_t>(dim_);
  for (std::size_t i = 0; i < s.features.size();) {
    std::size_t j = i;
    float weight_sum = 0.0f;
    while (j < s.features.size() && s.features[j].hash == s.features[i].hash) {
      weight_sum += s.features[j].weight;
      ++j;
    }
    const auto tf = static_cast<float>(j - i);
    const float value = (weight_sum / tf) * (1.0f + std::log(tf));
    const std::uint64_t h = finalize(s.features[i].hash);
    const std::size_t bucket = static_cast<std::size_t>((h & 0x7fffffffffffffffULL) % dim);
    out[bucket] += (h >> 63) != 0 ? -value : value;
    i = j;
  }

  double norm = 0.0;
  for (int i = 0; i < dim_; ++i) norm += static_cast<double>(out[i]) * out[i];
  if (norm <= 0.0) return;
  const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (int i = 0; i < dim_; ++i) out[i] *= scale;
}

}  // namespace ragd::retrieval
