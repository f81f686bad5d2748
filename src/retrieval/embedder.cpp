#include "ragd/retrieval/embedder.hpp"

#include "ragd/retrieval/text_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
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

struct Feature {
  std::uint64_t hash;
  float weight;
};

// One distinct feature while a text is embedded; count == 0 marks a free slot.
struct Tally {
  std::uint64_t hash = 0;
  float weight_sum = 0.0f;
  std::uint32_t count = 0;
};

// Reused across calls on one thread, so embedding allocates only while a buffer grows.
struct Scratch {
  AnalyzedText terms;
  std::vector<Feature> features;
  std::vector<Tally> table;           // a power of two, all free between calls
  std::vector<std::uint32_t> distinct;  // occupied slots, in order of first appearance
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
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

std::string Embedder::identity() const { return name() + "/" + model() + "/" + std::to_string(dim()); }

HashEmbedder::HashEmbedder(int dim, const AnalyzerConfig& analyzer)
    : dim_(dim < 1 ? 1 : dim), analyzer_(analyzer) {}

std::string HashEmbedder::model() const { return "v" + std::to_string(version()) + "-" + analyzer_.identity(); }

boost::asio::awaitable<Result<std::vector<float>>> HashEmbedder::embed_query(std::string text) {
  co_return embed(text);
}

boost::asio::awaitable<Result<std::vector<float>>> HashEmbedder::embed_documents(std::vector<std::string> texts) {
  co_return embed_documents_sync(std::move(texts));
}

Result<std::vector<float>> HashEmbedder::embed_documents_sync(std::vector<std::string> texts) {
  const auto dim = static_cast<std::size_t>(dim_);
  std::vector<float> out(texts.size() * dim);
  for (std::size_t i = 0; i < texts.size(); ++i) embed_into(texts[i], out.data() + i * dim);
  return out;
}

std::uint32_t HashEmbedder::version() {
  return (kHashEmbedderFeatureVersion << 16) | kTextAnalysisVersion;
}

std::vector<float> HashEmbedder::embed(std::string_view text) const {
  std::vector<float> v(static_cast<std::size_t>(dim_));
  embed_into(text, v.data());
  return v;
}

void HashEmbedder::embed_into(std::string_view text, float* out) const {
  Scratch& s = scratch();
  analyzer_.analyze(text, s.terms);
  embed_terms_into(s.terms, out, nullptr);
}

std::vector<float> HashEmbedder::embed_terms(const AnalyzedText& terms, const std::vector<float>& weights) const {
  if (weights.size() != terms.size()) throw std::invalid_argument("embed_terms: one weight per term is needed");
  std::vector<float> v(static_cast<std::size_t>(dim_));
  embed_terms_into(terms, v.data(), weights.data());
  return v;
}

void HashEmbedder::embed_terms_into(const AnalyzedText& terms, float* out, const float* weights) const {
  std::fill(out, out + dim_, 0.0f);
  Scratch& s = scratch();
  s.features.clear();
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const std::string_view stem = terms.term(i);
    const float w = weights != nullptr ? weights[i] : 1.0f;
    if (w <= 0.0f) continue;
    const std::size_t first = s.features.size();
    s.features.push_back(Feature{fnv(kUnigramSeed, stem), kUnigramWeight});
    if (i > 0) {
      std::uint64_t h = fnv(kBigramSeed, terms.term(i - 1));
      h = fnv_step(h, 0x1f);  // a separator no word contains: "ab"+"c" differs from "a"+"bc"
      s.features.push_back(Feature{fnv(h, stem), kBigramWeight});
    }
    // N-grams of the stem, not the surface word: forms the stemmer unifies then match
    // completely, and forms it misses ("explode", "explosive") still share pieces.
    if (stem.size() <= kMaxCharGramWord) add_char_grams(stem, s.features);
    if (w != 1.0f) {
      for (std::size_t f = first; f < s.features.size(); ++f) s.features[f].weight *= w;
    }
  }
  if (s.features.empty()) return;

  // Equal features are gathered in an open-addressing table (a sort cost more than
  // everything else here); each distinct one contributes its mean weight times 1 + ln(tf),
  // so a word repeated ten times counts a little over three times. Distinct features are
  // added to the vector in the order they first appear, so the result is deterministic.
  std::size_t capacity = 64;
  while (capacity < 2 * s.features.size()) capacity *= 2;
  if (s.table.size() < capacity) s.table.resize(capacity);
  const std::size_t mask = capacity - 1;
  s.distinct.clear();
  for (const Feature& f : s.features) {
    std::size_t slot = static_cast<std::size_t>(finalize(f.hash)) & mask;
    while (s.table[slot].count != 0 && s.table[slot].hash != f.hash) slot = (slot + 1) & mask;
    Tally& t = s.table[slot];
    if (t.count == 0) {
      t.hash = f.hash;
      s.distinct.push_back(static_cast<std::uint32_t>(slot));
    }
    t.weight_sum += f.weight;
    ++t.count;
  }
  const auto dim = static_cast<std::uint64_t>(dim_);
  const bool pow2 = (dim & (dim - 1)) == 0;
  for (const std::uint32_t slot : s.distinct) {
    Tally& t = s.table[slot];
    // Most features occur once, and 1 + ln(1) is 1: no division or logarithm for them.
    float value = t.weight_sum;
    if (t.count > 1) {
      const auto tf = static_cast<float>(t.count);
      value = (t.weight_sum / tf) * (1.0f + std::log(tf));
    }
    const std::uint64_t h = finalize(t.hash);
    // A power-of-two dimension (the default) takes the low bits, which is what % gives
    // there, without a 64-bit division per feature.
    const std::uint64_t low = h & 0x7fffffffffffffffULL;
    const std::size_t bucket = static_cast<std::size_t>(pow2 ? (low & (dim - 1)) : low % dim);
    out[bucket] += (h >> 63) != 0 ? -value : value;
    t = Tally{};  // leave the table empty for the next call
  }

  // Four running sums: one would be a chain of dependent additions, each waiting for the
  // last (the vector is mostly zeros, so this loop cost as much as the features did).
  double sums[4] = {0.0, 0.0, 0.0, 0.0};
  int i = 0;
  for (; i + 4 <= dim_; i += 4) {
    for (int k = 0; k < 4; ++k) sums[k] += static_cast<double>(out[i + k]) * out[i + k];
  }
  for (; i < dim_; ++i) sums[0] += static_cast<double>(out[i]) * out[i];
  const double norm = (sums[0] + sums[1]) + (sums[2] + sums[3]);
  if (norm <= 0.0) return;
  const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (int j = 0; j < dim_; ++j) out[j] *= scale;
}

}  // namespace ragd::retrieval
