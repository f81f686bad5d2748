#include "ragd/retrieval/bm25_index.hpp"

#include "ragd/retrieval/text_analysis.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace ragd::retrieval {
namespace {

struct Posting {
  std::uint32_t slot;
  std::uint32_t tf;
};

struct Term {
  std::vector<Posting> postings;  // slot order; may hold dead slots until compaction
  std::uint32_t df = 0;           // live chunks holding the term
};

constexpr std::uint32_t kNoDocument = UINT32_MAX;

struct Slot {
  std::int64_t id = 0;
  std::uint32_t length = 0;
  std::uint32_t document = kNoDocument;  // index into Impl::documents
  bool live = false;
  std::vector<std::uint32_t> terms;  // distinct term numbers, to update df on removal
};

// A document's live chunks, for its statistics (see "Documents" in the header).
struct DocumentStats {
  std::string name;
  std::uint64_t length = 0;  // summed length of its live chunks
  std::uint32_t chunks = 0;  // live chunks; 0 = a free entry
};

// idf(t) of the header, for a term in df of n live chunks.
double idf_of(double n, double df) { return std::log(1.0 + (n - df + 0.5) / (df + 0.5)); }

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Per-thread scoring buffers, reused across searches.
struct Accumulator {
  std::vector<float> scores;
  std::vector<std::uint32_t> touched;
  AnalyzedText query;
  // Document scoring: one term's tf per document, the documents it touched, and the
  // documents' scores over the whole query.
  std::vector<float> document_tf;
  std::vector<std::uint32_t> term_documents;
  std::vector<float> document_scores;
  std::vector<std::uint32_t> touched_documents;
  // search_terms(..., among): 1 for the slots of the set's ids, 0 elsewhere.
  std::vector<std::uint8_t> allowed;
  std::vector<std::uint32_t> allowed_slots;
};

Accumulator& accumulator() {
  thread_local Accumulator a;
  return a;
}

}  // namespace

struct Bm25Index::Impl {
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> term_numbers;
  std::vector<Term> terms;
  std::vector<Slot> slots;
  std::unordered_map<std::int64_t, std::uint32_t> slot_of;  // live ids only
  std::size_t live = 0;
  std::uint64_t live_length = 0;
  std::size_t postings = 0;
  std::size_t dead_postings = 0;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> document_numbers;
  std::vector<DocumentStats> documents;
  std::vector<std::uint32_t> free_documents;
  std::size_t live_documents = 0;
  std::uint64_t live_document_length = 0;

  std::uint32_t add_to_document(std::string_view name, std::uint32_t length) {
    std::uint32_t d;
    if (auto it = document_numbers.find(name); it != document_numbers.end()) {
      d = it->second;
    } else {
      if (free_documents.empty()) {
        d = static_cast<std::uint32_t>(documents.size());
        documents.emplace_back();
      } else {
        d = free_documents.back();
        free_documents.pop_back();
      }
      documents[d].name = std::string(name);
      document_numbers.emplace(documents[d].name, d);
      ++live_documents;
    }
    documents[d].length += length;
    ++documents[d].chunks;
    live_document_length += length;
    return d;
  }

  void remove_from_document(std::uint32_t d, std::uint32_t length) {
    DocumentStats& doc = documents[d];
    doc.length -= length;
    live_document_length -= length;
    if (--doc.chunks > 0) return;
    document_numbers.erase(doc.name);
    doc.name.clear();
    free_documents.push_back(d);
    --live_documents;
  }

  // idf(t) of the header for `term`; df = 0 for a term no live chunk holds. Needs live > 0.
  double idf(std::string_view term) const {
    auto it = term_numbers.find(term);
    const double df = it == term_numbers.end() ? 0.0 : terms[it->second].df;
    return idf_of(static_cast<double>(live), df);
  }

  void remove_slot(std::uint32_t s) {
    Slot& slot = slots[s];
    for (auto t : slot.terms) --terms[t].df;
    dead_postings += slot.terms.size();
    slot.terms.clear();
    slot.terms.shrink_to_fit();
    slot.live = false;
    live_length -= slot.length;
    --live;
    if (slot.document != kNoDocument) remove_from_document(slot.document, slot.length);
    slot.document = kNoDocument;
    slot_of.erase(slot.id);
  }

  // Drops dead slots and their postings, renumbering the live slots in order, so posting
  // lists stay sorted by slot.
  void compact() {
    constexpr std::uint32_t kDead = UINT32_MAX;
    std::vector<std::uint32_t> renumber(slots.size(), kDead);
    std::vector<Slot> kept;
    kept.reserve(live);
    for (std::size_t s = 0; s < slots.size(); ++s) {
      if (!slots[s].live) continue;
      renumber[s] = static_cast<std::uint32_t>(kept.size());
      slot_of[slots[s].id] = renumber[s];
      kept.push_back(std::move(slots[s]));
    }
    slots = std::move(kept);
    postings = 0;
    for (Term& t : terms) {
      std::size_t out = 0;
      for (const Posting& p : t.postings) {
        if (renumber[p.slot] != kDead) t.postings[out++] = Posting{renumber[p.slot], p.tf};
      }
      t.postings.resize(out);
      if (t.postings.capacity() > 2 * out + 4) t.postings.shrink_to_fit();
      postings += out;
    }
    dead_postings = 0;
  }
};

Bm25Index::Bm25Index(Bm25Params params, const AnalyzerConfig& analyzer)
    : params_(params), analyzer_(analyzer), impl_(std::make_unique<Impl>()) {}

Bm25Index::~Bm25Index() = default;

Bm25Index::PreparedText Bm25Index::prepare(std::int64_t id, std::string_view text,
                                           std::string_view document) const {
  thread_local AnalyzedText analyzed;
  analyzer_.analyze(text, analyzed);
  PreparedText p;
  p.id = id;
  p.length = static_cast<std::uint32_t>(analyzed.size());
  p.document = std::string(document);
  std::vector<std::string_view> words;
  words.reserve(analyzed.size());
  for (std::size_t i = 0; i < analyzed.size(); ++i) words.push_back(analyzed.term(i));
  std::sort(words.begin(), words.end());
  for (std::size_t i = 0; i < words.size();) {
    std::size_t j = i;
    while (j < words.size() && words[j] == words[i]) ++j;
    p.terms.emplace_back(std::string(words[i]), static_cast<std::uint32_t>(j - i));
    i = j;
  }
  return p;
}

void Bm25Index::add(std::int64_t id, std::string_view text) {
  std::vector<PreparedText> one;
  one.push_back(prepare(id, text));
  add(std::move(one));
}

void Bm25Index::add(std::vector<PreparedText> texts) {
  std::unique_lock lock(mutex_);
  Impl& m = *impl_;
  for (PreparedText& p : texts) {
    if (auto it = m.slot_of.find(p.id); it != m.slot_of.end()) m.remove_slot(it->second);
    const auto s = static_cast<std::uint32_t>(m.slots.size());
    Slot slot;
    slot.id = p.id;
    slot.length = p.length;
    slot.live = true;
    if (!p.document.empty()) slot.document = m.add_to_document(p.document, p.length);
    slot.terms.reserve(p.terms.size());
    for (auto& [word, tf] : p.terms) {
      auto it = m.term_numbers.find(word);
      if (it == m.term_numbers.end()) {
        it = m.term_numbers.emplace(std::move(word), static_cast<std::uint32_t>(m.terms.size())).first;
        m.terms.emplace_back();
      }
      Term& t = m.terms[it->second];
      t.postings.push_back(Posting{s, tf});
      ++t.df;
      slot.terms.push_back(it->second);
    }
    m.postings += slot.terms.size();
    m.live_length += slot.length;
    ++m.live;
    m.slot_of[p.id] = s;
    m.slots.push_back(std::move(slot));
  }
}

std::size_t Bm25Index::remove(const std::vector<std::int64_t>& ids) {
  std::unique_lock lock(mutex_);
  Impl& m = *impl_;
  std::size_t removed = 0;
  for (auto id : ids) {
    auto it = m.slot_of.find(id);
    if (it == m.slot_of.end()) continue;
    m.remove_slot(it->second);
    ++removed;
  }
  // Dead slots with no postings (empty texts) also count, so slots cannot grow unbounded.
  const std::size_t dead_slots = m.slots.size() - m.live;
  if (m.dead_postings * 4 >= m.postings + 64 || dead_slots * 4 >= m.slots.size() + 64) {
    m.compact();
  }
  return removed;
}

std::vector<ScoredId> Bm25Index::search(std::string_view query, int k) const {
  if (k <= 0) return {};
  Accumulator& acc = accumulator();
  analyzer_.analyze(query, acc.query);
  return search_terms(acc.query, k);
}

std::vector<ScoredId> Bm25Index::search_terms(const AnalyzedText& query, int k, const IdSet* among) const {
  std::vector<ScoredId> out;
  if (k <= 0 || query.empty() || (among != nullptr && among->empty())) return out;
  Accumulator& acc = accumulator();

  std::shared_lock lock(mutex_);
  const Impl& m = *impl_;
  if (m.live == 0) return out;

  // Query terms with their counts; unknown terms cannot score.
  std::vector<std::pair<std::uint32_t, float>> qterms;
  for (std::size_t i = 0; i < query.size(); ++i) {
    auto it = m.term_numbers.find(query.term(i));
    if (it == m.term_numbers.end() || m.terms[it->second].df == 0) continue;
    auto q = std::find_if(qterms.begin(), qterms.end(), [&](const auto& e) { return e.first == it->second; });
    if (q == qterms.end()) {
      qterms.emplace_back(it->second, 1.0f);
    } else {
      q->second += 1.0f;
    }
  }
  if (qterms.empty()) return out;

  if (acc.scores.size() < m.slots.size()) acc.scores.resize(m.slots.size(), 0.0f);
  acc.touched.clear();
  const std::uint8_t* allowed = nullptr;
  if (among != nullptr) {
    if (acc.allowed.size() < m.slots.size()) acc.allowed.resize(m.slots.size(), 0);
    acc.allowed_slots.clear();
    for (auto id : among->ids()) {
      auto it = m.slot_of.find(id);
      if (it == m.slot_of.end()) continue;
      acc.allowed[it->second] = 1;
      acc.allowed_slots.push_back(it->second);
    }
    allowed = acc.allowed.data();
  }
  const double n = static_cast<double>(m.live);
  const double avgdl = std::max(1.0, static_cast<double>(m.live_length) / n);
  const auto k1 = static_cast<float>(params_.k1);
  const auto b = static_cast<float>(params_.b);
  const float inv_avgdl = static_cast<float>(1.0 / avgdl);
  // Documents (see the header): their tf per term is summed from the postings below.
  const bool by_document = params_.document_weight > 0.0 && m.live_documents > 0;
  const double documents = static_cast<double>(m.live_documents);
  const float inv_document_avgdl =
      by_document ? static_cast<float>(documents / std::max(1.0, static_cast<double>(m.live_document_length))) : 0.0f;
  if (by_document && acc.document_tf.size() < m.documents.size()) {
    acc.document_tf.resize(m.documents.size(), 0.0f);
    acc.document_scores.resize(m.documents.size(), 0.0f);
  }
  acc.touched_documents.clear();
  for (const auto& [term, qtf] : qterms) {
    const Term& t = m.terms[term];
    const double df = t.df;
    const auto idf = static_cast<float>(idf_of(n, df));
    const float weight = idf * qtf * (k1 + 1.0f);
    for (const Posting& p : t.postings) {
      const Slot& slot = m.slots[p.slot];
      if (!slot.live) continue;
      const auto tf = static_cast<float>(p.tf);
      // Documents' statistics count every chunk, so a chunk of the set scores as it would
      // in an unrestricted search.
      if (by_document && slot.document != kNoDocument) {
        float& document_tf = acc.document_tf[slot.document];
        if (document_tf == 0.0f) acc.term_documents.push_back(slot.document);
        document_tf += tf;
      }
      if (allowed != nullptr && allowed[p.slot] == 0) continue;
      const float norm = k1 * (1.0f - b + b * static_cast<float>(slot.length) * inv_avgdl);
      float& score = acc.scores[p.slot];
      if (score == 0.0f) acc.touched.push_back(p.slot);
      score += weight * tf / (tf + norm);
    }
    if (!by_document) continue;
    const auto document_idf = static_cast<float>(idf_of(documents, static_cast<double>(acc.term_documents.size())));
    const float document_term_weight = document_idf * qtf * (k1 + 1.0f);
    for (auto d : acc.term_documents) {
      const float tf = acc.document_tf[d];
      acc.document_tf[d] = 0.0f;
      const float norm = k1 * (1.0f - b + b * static_cast<float>(m.documents[d].length) * inv_document_avgdl);
      float& score = acc.document_scores[d];
      if (score == 0.0f) acc.touched_documents.push_back(d);
      score += document_term_weight * tf / (tf + norm);
    }
    acc.term_documents.clear();
  }
  if (by_document) {
    const auto w = static_cast<float>(params_.document_weight);
    for (auto s : acc.touched) {
      const std::uint32_t d = m.slots[s].document;
      if (d != kNoDocument) acc.scores[s] += w * acc.document_scores[d];
    }
    for (auto d : acc.touched_documents) acc.document_scores[d] = 0.0f;
  }

  // `better` as the heap's "less" puts the weakest kept result at the root.
  auto better = [&](std::uint32_t x, std::uint32_t y) {
    const float sx = acc.scores[x], sy = acc.scores[y];
    if (sx != sy) return sx > sy;
    return m.slots[x].id < m.slots[y].id;
  };
  std::vector<std::uint32_t> heap;
  const auto kk = static_cast<std::size_t>(k);
  heap.reserve(std::min(kk, acc.touched.size()) + 1);
  for (auto s : acc.touched) {
    if (heap.size() < kk) {
      heap.push_back(s);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(s, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = s;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
  out.reserve(heap.size());
  for (auto s : heap) out.emplace_back(m.slots[s].id, acc.scores[s]);
  for (auto s : acc.touched) acc.scores[s] = 0.0f;
  for (auto s : acc.allowed_slots) acc.allowed[s] = 0;
  return out;
}

double Bm25Index::idf(std::string_view term) const {
  std::shared_lock lock(mutex_);
  return impl_->live == 0 ? 0.0 : impl_->idf(term);
}

void Bm25Index::idf_of_terms(const AnalyzedText& terms, std::vector<float>& out) const {
  out.assign(terms.size(), 0.0f);
  std::shared_lock lock(mutex_);
  const Impl& m = *impl_;
  if (m.live == 0) return;
  for (std::size_t i = 0; i < terms.size(); ++i) out[i] = static_cast<float>(m.idf(terms.term(i)));
}

bool Bm25Index::contains(std::int64_t id) const {
  std::shared_lock lock(mutex_);
  return impl_->slot_of.count(id) != 0;
}

std::size_t Bm25Index::size() const {
  std::shared_lock lock(mutex_);
  return impl_->live;
}

std::size_t Bm25Index::document_count() const {
  std::shared_lock lock(mutex_);
  return impl_->live_documents;
}

}  // namespace ragd::retrieval
