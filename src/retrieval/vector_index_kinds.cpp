// The three kinds of vector index over FAISS (flat, HNSW with tombstones, IVF that starts
// flat and trains once); see vector_index.hpp for what each does and vector_index.cpp for
// the writes, rebuilds and locking around them.
// The three kinds stay in one file (about 510 lines) because they share its top: the result
// gathering, the bounded top-k and the id selector a filtered search passes to FAISS,
// which are private to them; each kind is one class below.
#include "retrieval/vector_index_kinds.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace ragd::retrieval {
namespace {

// faiss 1.7 declares idx_t inside Index; later versions also at namespace scope.
using idx_t = faiss::Index::idx_t;
static_assert(sizeof(idx_t) == sizeof(std::int64_t));

const idx_t* as_labels(const std::vector<std::int64_t>& ids) {
  return reinterpret_cast<const idx_t*>(ids.data());
}

// Raw search output: n rows of k (label, score), -1 labels where FAISS found fewer.
struct RawResults {
  idx_t k = 0;
  std::vector<float> scores;
  std::vector<idx_t> labels;
};


std::vector<std::vector<ScoredId>> collect(const RawResults& raw, std::size_t n) {
  std::vector<std::vector<ScoredId>> out(n);
  for (std::size_t q = 0; q < n; ++q) {
    out[q].reserve(static_cast<std::size_t>(raw.k));
    for (idx_t j = 0; j < raw.k; ++j) {
      const std::size_t at = q * static_cast<std::size_t>(raw.k) + static_cast<std::size_t>(j);
      if (raw.labels[at] < 0) continue;  // FAISS pads with -1 when fewer results exist
      out[q].emplace_back(raw.labels[at], raw.scores[at]);
    }
  }
  return out;
}

// The Fortran BLAS entry points FAISS itself links against (OpenBLAS on Debian).
extern "C" {
int sgemv_(const char* trans, const int* m, const int* n, const float* alpha, const float* a, const int* lda,
           const float* x, const int* incx, const float* beta, float* y, const int* incy);
int sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
           const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
           const int* ldc);
float sdot_(const int* n, const float* x, const int* incx, const float* y, const int* incy);
}

// Inner products of n queries (row-major n x dim) with `count` stored vectors (row-major
// count x dim), written as `count` scores per query: scores[q * count + i].
void inner_products(const float* vectors, std::size_t count, const float* queries, std::size_t n, int dim,
                    float* scores) {
  const int m = static_cast<int>(count);
  const int d = dim;
  const float one = 1.0f;
  const float zero = 0.0f;
  if (n == 1) {
    const int inc = 1;
    sgemv_("T", &d, &m, &one, vectors, &d, queries, &inc, &zero, scores, &inc);
    return;
  }
  const int nq = static_cast<int>(n);
  sgemm_("T", "N", &m, &nq, &d, &one, vectors, &d, queries, &d, &zero, scores, &m);
}

// A scored position: (score, position among the stored vectors).
using Scored = std::pair<float, std::size_t>;

// Result order: higher score first; equal scores by lower position, so results do not
// depend on the order of equal scores.
bool ranks_before(const Scored& a, const Scored& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// The k best of a scan, fed a block of scores at a time in position order. It keeps every
// score that can still be among the k best: all of them until it holds 2k, then it cuts
// back to the k best (nth_element, linear) and from then on takes only scores above the
// k-th best so far. A later score equal to it ranks after it (positions only grow), so it
// is left out. Cheaper than a heap of k, which pays two sifts for every score that enters.
// NaN scores (never from finite vectors) are dropped.
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { items_.reserve(2 * k); }

  void scan(const float* scores, std::size_t count, std::size_t base) {
    for (std::size_t i = 0; i < count; ++i) {
      const float s = scores[i];
      if (!(cut_ ? s > floor_ : s == s)) continue;
      items_.emplace_back(s, base + i);
      if (items_.size() == 2 * k_) cut();
    }
  }

  // The best, best first (ranks_before); at most k.
  std::vector<Scored>& sorted() {
    if (items_.size() > k_) cut();
    std::sort(items_.begin(), items_.end(), ranks_before);
    return items_;
  }

 private:
  void cut() {
    std::nth_element(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), items_.end(),
                     ranks_before);
    items_.resize(k_);
    floor_ = items_[k_ - 1].first;
    cut_ = true;
  }

  std::size_t k_;
  std::vector<Scored> items_;
  float floor_ = 0;
  bool cut_ = false;  // holds the k best so far; floor_ is the k-th's score
};

RawResults run_search(const faiss::Index& index, const float* queries, std::size_t n, idx_t k,
                      const faiss::SearchParameters* params = nullptr) {
  RawResults raw;
  raw.k = k;
  raw.scores.resize(n * static_cast<std::size_t>(k));
  raw.labels.resize(n * static_cast<std::size_t>(k));
  index.search(static_cast<idx_t>(n), queries, k, raw.scores.data(), raw.labels.data(), params);
  return raw;
}

// The k best of `among`, each scored exactly: `vector_of(id)` is the stored vector of an id
// the index holds, null for one it does not. Equal scores rank the smaller id first.
template <typename VectorOf>
std::vector<ScoredId> exact_among(const float* query, std::size_t dim, int k, const IdSet& among,
                                  VectorOf&& vector_of) {
  const std::vector<std::int64_t>& ids = among.ids();
  const int d = static_cast<int>(dim);
  const int inc = 1;
  TopK best(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const float* v = vector_of(ids[i]);
    if (v == nullptr) continue;
    // BLAS's dot product: FAISS's fvec_inner_product is its scalar reference code in
    // Debian's build, four times slower for the vectors of a broad filter.
    const float score = sdot_(&d, query, &inc, v, &inc);
    best.scan(&score, 1, i);
  }
  std::vector<ScoredId> out;
  for (const auto& [score, i] : best.sorted()) out.emplace_back(ids[i], score);
  return out;
}

// FAISS's selection by our ids (labels that are our ids: IVF).
struct AmongIds final : faiss::IDSelector {
  explicit AmongIds(const IdSet& among) : among(among) {}
  bool is_member(idx_t id) const override { return among.contains(id); }
  const IdSet& among;
};

// Exact: every vector is scanned.
class FlatIndex final : public VectorIndex::Impl {
 public:
  explicit FlatIndex(int dim) : flat_(dim), map_(&flat_) {}

  void add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n) override {
    // Upsert: IndexIDMap2 keeps one slot per id, so an id that is present goes first.
    remove(ids);
    map_.add_with_ids(static_cast<idx_t>(n), vectors, as_labels(ids));
  }

  std::size_t remove(const std::vector<std::int64_t>& ids) override {
    std::vector<idx_t> present;
    for (auto id : ids) {
      if (map_.rev_map.count(id) != 0) present.push_back(id);
    }
    if (present.empty()) return 0;
    faiss::IDSelectorBatch selector(present.size(), present.data());
    return map_.remove_ids(selector);
  }

  // A scan through BLAS, without FAISS's search: for every call FAISS allocates a 16 MiB
  // block of scores (4096 queries x 1024 vectors), which the allocator maps and unmaps again
  // (page faults, TLB shootdowns), and one query goes through sgemm's packing where sgemv
  // does. Scores are computed a block of vectors at a time into a per-thread buffer.
  std::vector<std::vector<ScoredId>> search(const float* queries, std::size_t n, int k) const override {
    std::vector<std::vector<ScoredId>> out(n);
    const auto total = static_cast<std::size_t>(map_.ntotal);
    if (total == 0 || n == 0 || k <= 0) return out;
    const std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(k), total);
    const std::size_t block = std::max<std::size_t>(1, kScoreBufferFloats / n);
    thread_local std::vector<float> scores;
    scores.resize(std::min(total, block) * n);
    std::vector<TopK> best;
    best.reserve(n);
    for (std::size_t q = 0; q < n; ++q) best.emplace_back(keep);
    const float* xb = flat_.get_xb();
    const auto dim = static_cast<std::size_t>(flat_.d);
    for (std::size_t first = 0; first < total; first += block) {
      const std::size_t count = std::min(block, total - first);
      inner_products(xb + first * dim, count, queries, n, flat_.d, scores.data());
      for (std::size_t q = 0; q < n; ++q) best[q].scan(scores.data() + q * count, count, first);
    }
    for (std::size_t q = 0; q < n; ++q) {
      const auto& h = best[q].sorted();
      out[q].reserve(h.size());
      for (const auto& [score, position] : h) out[q].emplace_back(map_.id_map[position], score);
    }
    return out;
  }

  // Exact at any size: a flat index scores every vector anyway, and the set's vectors are
  // read where they lie.
  std::vector<ScoredId> search_among(const float* query, int k, const IdSet& among) const override {
    const float* xb = flat_.get_xb();
    const auto dim = static_cast<std::size_t>(flat_.d);
    return exact_among(query, dim, k, among, [&](std::int64_t id) -> const float* {
      auto it = map_.rev_map.find(id);
      return it == map_.rev_map.end() ? nullptr : xb + static_cast<std::size_t>(it->second) * dim;
    });
  }

  void reconstruct(std::int64_t id, float* out) const override { map_.reconstruct(id, out); }
  bool contains(std::int64_t id) const override { return map_.rev_map.count(id) != 0; }
  std::size_t size() const override { return static_cast<std::size_t>(map_.ntotal); }
  std::vector<std::int64_t> live_ids() const override { return {map_.id_map.begin(), map_.id_map.end()}; }

 private:
  static constexpr std::size_t kScoreBufferFloats = 1u << 16;  // 256 KiB per searching thread
  faiss::IndexFlatIP flat_;
  faiss::IndexIDMap2 map_;  // does not own `flat_` (own_fields is false by default)
};

// HNSW with tombstones. FAISS labels are positions in the graph (0, 1, 2, ...); ids_ maps a
// position to our id (-1 once deleted) and positions_ our id to its live position.
class HnswIndex final : public VectorIndex::Impl {
 public:
  HnswIndex(int dim, const IndexConfig& config) : dim_(dim), config_(config) { graph_ = make_graph(); }

  void add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n) override {
    const auto before = static_cast<std::size_t>(graph_->ntotal);
    try {
      graph_->add(static_cast<idx_t>(n), vectors);
    } catch (...) {
      // Whatever FAISS managed to insert stays in the graph as tombstones.
      ids_.resize(static_cast<std::size_t>(graph_->ntotal), -1);
      tombstones_ += ids_.size() - before;
      throw;
    }
    tombstone(ids);  // the old versions of replaced ids
    ids_.resize(before + n);
    for (std::size_t i = 0; i < n; ++i) {
      ids_[before + i] = ids[i];
      positions_[ids[i]] = static_cast<idx_t>(before + i);
    }
  }

  std::size_t remove(const std::vector<std::int64_t>& ids) override { return tombstone(ids); }

  std::vector<std::vector<ScoredId>> search(const float* queries, std::size_t n, int k) const override {
    std::vector<std::vector<ScoredId>> out(n);
    const auto total = static_cast<idx_t>(graph_->ntotal);
    if (positions_.empty()) return out;
    // Over-fetch by the share of tombstones (and a margin), and fetch deeper for the
    // queries that still come up short: bounded, since the depth grows to the whole graph.
    const double live_share = static_cast<double>(positions_.size()) / static_cast<double>(total);
    idx_t fetch = std::min<idx_t>(total, static_cast<idx_t>(k / live_share) + (tombstones_ ? 8 : 0));
    std::vector<std::size_t> pending(n);
    for (std::size_t q = 0; q < n; ++q) pending[q] = q;
    while (!pending.empty()) {
      std::vector<float> batch(pending.size() * static_cast<std::size_t>(dim_));
      for (std::size_t i = 0; i < pending.size(); ++i) {
        std::memcpy(batch.data() + i * static_cast<std::size_t>(dim_),
                    queries + pending[i] * static_cast<std::size_t>(dim_), sizeof(float) * static_cast<std::size_t>(dim_));
      }
      const RawResults raw = run_search(*graph_, batch.data(), pending.size(), fetch);
      std::vector<std::size_t> short_of_k;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        auto& hits = out[pending[i]];
        hits.clear();
        std::size_t returned = 0;
        for (idx_t j = 0; j < fetch && hits.size() < static_cast<std::size_t>(k); ++j) {
          const idx_t label = raw.labels[i * static_cast<std::size_t>(fetch) + static_cast<std::size_t>(j)];
          if (label < 0) continue;
          ++returned;
          const std::int64_t id = ids_[static_cast<std::size_t>(label)];
          if (id >= 0) hits.emplace_back(id, raw.scores[i * static_cast<std::size_t>(fetch) + static_cast<std::size_t>(j)]);
        }
        const bool graph_had_more = returned == static_cast<std::size_t>(fetch);
        if (hits.size() < static_cast<std::size_t>(k) && graph_had_more && fetch < total) {
          short_of_k.push_back(pending[i]);
        }
      }
      pending = std::move(short_of_k);
      fetch = std::min<idx_t>(total, fetch * 4);
    }
    return out;
  }

  std::vector<ScoredId> search_among(const float* query, int k, const IdSet& among) const override {
    if (positions_.empty()) return {};
    if (among.size() <= kExactAmongMax) {
      const float* xb = static_cast<const faiss::IndexFlat*>(graph_->storage)->get_xb();
      const auto dim = static_cast<std::size_t>(dim_);
      return exact_among(query, dim, k, among, [&](std::int64_t id) -> const float* {
        auto it = positions_.find(id);
        return it == positions_.end() ? nullptr : xb + static_cast<std::size_t>(it->second) * dim;
      });
    }
    // The graph walk keeps only members (tombstones are not); its beam widens as the set's
    // share of the graph shrinks, so that a selective set still fills k.
    struct AmongPositions final : faiss::IDSelector {
      AmongPositions(const std::vector<std::int64_t>& ids, const IdSet& among) : ids(ids), among(among) {}
      bool is_member(idx_t position) const override {
        const std::int64_t id = ids[static_cast<std::size_t>(position)];
        return id >= 0 && among.contains(id);
      }
      const std::vector<std::int64_t>& ids;
      const IdSet& among;
    } selector(ids_, among);
    const auto total = static_cast<idx_t>(graph_->ntotal);
    const double share = std::min(1.0, static_cast<double>(among.size()) / static_cast<double>(positions_.size()));
    const int base = std::max(config_.hnsw_ef_search, k);
    faiss::SearchParametersHNSW params;
    params.sel = &selector;
    params.efSearch = static_cast<int>(std::min<double>(static_cast<double>(total), std::min(16.0 * base, base / share)));
    const idx_t fetch = std::min<idx_t>(k, total);
    const RawResults raw = run_search(*graph_, query, 1, fetch, &params);
    std::vector<ScoredId> out = std::move(collect(raw, 1).front());
    for (auto& hit : out) hit.first = ids_[static_cast<std::size_t>(hit.first)];
    return out;
  }

  void reconstruct(std::int64_t id, float* out) const override {
    auto it = positions_.find(id);
    if (it == positions_.end()) throw faiss::FaissException("id " + std::to_string(id) + " not found");
    graph_->reconstruct(it->second, out);
  }

  bool contains(std::int64_t id) const override { return positions_.count(id) != 0; }
  std::size_t size() const override { return positions_.size(); }
  VectorIndex::Stats stats() const override { return VectorIndex::Stats{positions_.size(), tombstones_, true, 0, false}; }

  // A graph past its tombstone budget is rebuilt from the live vectors, in position order.
  bool wants_rebuild() const override {
    const auto total = static_cast<double>(graph_->ntotal);
    return tombstones_ != 0 && static_cast<double>(tombstones_) >= config_.rebuild_deleted_fraction * total;
  }
  const char* rebuild_name() const override { return "hnsw rebuild"; }
  std::vector<std::int64_t> live_ids() const override {
    std::vector<std::int64_t> live;
    live.reserve(positions_.size());
    for (auto id : ids_) {
      if (id >= 0) live.push_back(id);
    }
    return live;
  }
  std::unique_ptr<VectorIndex::Impl> make_replacement(const float*, std::size_t) const override {
    return std::make_unique<HnswIndex>(dim_, config_);
  }

 private:
  std::unique_ptr<faiss::IndexHNSWFlat> make_graph() const {
    auto g = std::make_unique<faiss::IndexHNSWFlat>(dim_, config_.hnsw_m, faiss::METRIC_INNER_PRODUCT);
    g->hnsw.efConstruction = config_.hnsw_ef_construction;
    g->hnsw.efSearch = config_.hnsw_ef_search;
    return g;
  }

  std::size_t tombstone(const std::vector<std::int64_t>& ids) {
    std::size_t removed = 0;
    for (auto id : ids) {
      auto it = positions_.find(id);
      if (it == positions_.end()) continue;
      ids_[static_cast<std::size_t>(it->second)] = -1;
      positions_.erase(it);
      ++tombstones_;
      ++removed;
    }
    return removed;
  }

  const int dim_;
  const IndexConfig config_;
  std::unique_ptr<faiss::IndexHNSWFlat> graph_;
  std::vector<std::int64_t> ids_;
  std::unordered_map<std::int64_t, idx_t> positions_;
  std::size_t tombstones_ = 0;
};

std::size_t ivf_train_size(const IndexConfig& config) {
  const auto nlist = static_cast<std::size_t>(config.ivf_nlist);
  return std::max<std::size_t>(config.ivf_train_size != 0 ? config.ivf_train_size : 39 * nlist, nlist);
}

// IVF: exact (a FlatIndex) until it holds train_size vectors, then k-means-trained lists.
// A hash table direct map gives reconstruct() and removal by id.
class IvfIndex final : public VectorIndex::Impl {
 public:
  // Exact, until it is replaced by a trained one.
  IvfIndex(int dim, const IndexConfig& config)
      : dim_(dim), config_(config), train_size_(ivf_train_size(config)), exact_(std::make_unique<FlatIndex>(dim)) {}

  // Trained on the `n` vectors of `sample`, and empty.
  IvfIndex(int dim, const IndexConfig& config, const float* sample, std::size_t n)
      : dim_(dim), config_(config), train_size_(ivf_train_size(config)) {
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(dim_);
    auto lists = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim_, config_.ivf_nlist,
                                                       faiss::METRIC_INNER_PRODUCT);
    lists->nprobe = static_cast<std::size_t>(config_.ivf_nprobe);
    lists->train(static_cast<idx_t>(n), sample);
    lists->set_direct_map_type(faiss::DirectMap::Hashtable);
    quantizer_ = std::move(quantizer);
    lists_ = std::move(lists);
  }

  void add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n) override {
    if (exact_) return exact_->add(ids, vectors, n);
    remove(ids);
    lists_->add_with_ids(static_cast<idx_t>(n), vectors, as_labels(ids));
  }

  std::size_t remove(const std::vector<std::int64_t>& ids) override {
    if (exact_) return exact_->remove(ids);
    std::vector<idx_t> present;
    for (auto id : ids) {
      if (contains(id)) present.push_back(id);
    }
    if (present.empty()) return 0;
    // The hash table direct map removes by IDSelectorArray only.
    faiss::IDSelectorArray selector(present.size(), present.data());
    return lists_->remove_ids(selector);
  }

  std::vector<std::vector<ScoredId>> search(const float* queries, std::size_t n, int k) const override {
    if (exact_) return exact_->search(queries, n, k);
    if (lists_->ntotal == 0) return std::vector<std::vector<ScoredId>>(n);
    return collect(run_search(*lists_, queries, n, std::min<idx_t>(k, lists_->ntotal)), n);
  }

  std::vector<ScoredId> search_among(const float* query, int k, const IdSet& among) const override {
    if (exact_) return exact_->search_among(query, k, among);
    if (lists_->ntotal == 0) return {};
    if (among.size() <= kExactAmongMax) {
      std::vector<float> buffer(static_cast<std::size_t>(dim_));
      return exact_among(query, buffer.size(), k, among, [&](std::int64_t id) -> const float* {
        if (!contains(id)) return nullptr;
        lists_->reconstruct(id, buffer.data());
        return buffer.data();
      });
    }
    AmongIds selector(among);
    faiss::SearchParametersIVF params;
    params.sel = &selector;
    params.nprobe = lists_->nprobe;
    return collect(run_search(*lists_, query, 1, std::min<idx_t>(k, lists_->ntotal), &params), 1).front();
  }

  void reconstruct(std::int64_t id, float* out) const override {
    if (exact_) return exact_->reconstruct(id, out);
    lists_->reconstruct(id, out);
  }

  bool contains(std::int64_t id) const override {
    if (exact_) return exact_->contains(id);
    return lists_->direct_map.hashtable.count(id) != 0;
  }

  std::size_t size() const override {
    return exact_ ? exact_->size() : static_cast<std::size_t>(lists_->ntotal);
  }

  VectorIndex::Stats stats() const override { return VectorIndex::Stats{size(), 0, exact_ == nullptr, 0, false}; }

  // Trains once, when the exact index reaches train_size_; the lists are never retrained.
  bool wants_rebuild() const override { return exact_ && exact_->size() >= train_size_; }
  const char* rebuild_name() const override { return "ivf training"; }
  std::vector<std::int64_t> live_ids() const override {
    if (exact_) return exact_->live_ids();
    std::vector<std::int64_t> ids;
    ids.reserve(lists_->direct_map.hashtable.size());
    for (const auto& [id, where] : lists_->direct_map.hashtable) ids.push_back(id);
    return ids;
  }
  // FAISS's k-means keeps at most 256 points per centroid (max_points_per_centroid) and
  // samples down to that when given more, so a larger sample would only be copied.
  std::size_t training_sample_size() const override { return 256 * static_cast<std::size_t>(config_.ivf_nlist); }
  std::unique_ptr<VectorIndex::Impl> make_replacement(const float* sample, std::size_t n) const override {
    return std::make_unique<IvfIndex>(dim_, config_, sample, n);
  }

 private:
  const int dim_;
  const IndexConfig config_;
  const std::size_t train_size_;
  std::unique_ptr<FlatIndex> exact_;  // until replaced by a trained index
  std::unique_ptr<faiss::IndexFlatIP> quantizer_;  // outlives lists_, which does not own it
  std::unique_ptr<faiss::IndexIVFFlat> lists_;
};

}  // namespace

std::unique_ptr<VectorIndex::Impl> make_impl(int dim, const IndexConfig& config) {
  if (config.type == "hnsw") return std::make_unique<HnswIndex>(dim, config);
  if (config.type == "ivf") return std::make_unique<IvfIndex>(dim, config);
  return std::make_unique<FlatIndex>(dim);
}

}  // namespace ragd::retrieval
