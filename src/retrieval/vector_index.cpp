#include "ragd/retrieval/vector_index.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/distances.h>
#include <dlfcn.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

namespace ragd::retrieval {
namespace {

// faiss 1.7 declares idx_t inside Index; later versions also at namespace scope.
using idx_t = faiss::Index::idx_t;
static_assert(sizeof(idx_t) == sizeof(std::int64_t));

// OpenMP's thread count is a per-thread setting (the nthreads ICV of the calling thread),
// so it must be set on every thread that calls into FAISS, not once per process.
void pin_openmp_to_one_thread() {
  thread_local bool pinned = false;
  if (!pinned) {
    omp_set_num_threads(1);
    pinned = true;
  }
}

// A large HNSW insert uses every core for its duration, then the thread goes back to one
// (see vector_index.hpp: searches wait for that write anyway).
class AllCoresForInsert {
 public:
  AllCoresForInsert() {
    const unsigned cores = std::thread::hardware_concurrency();
    omp_set_num_threads(static_cast<int>(std::max(1u, cores)));
  }
  ~AllCoresForInsert() { omp_set_num_threads(1); }
  AllCoresForInsert(const AllCoresForInsert&) = delete;
  AllCoresForInsert& operator=(const AllCoresForInsert&) = delete;
};

// Flat scans go through BLAS (sgemm) for every search, not only for batches of 20 or more
// queries (FAISS's default threshold): one query scans about 1.5x faster that way, and a
// batch of n costs little more than one (retrieval-bench --batch-study). OpenBLAS's own
// thread pool is set to one thread, for the reason OpenMP is: the Retriever's pool already
// runs searches in parallel, and OpenBLAS threads spinning on an oversubscribed machine
// turned P99s into seconds. Looked up at run time: another BLAS may be installed.
void configure_blas_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    faiss::distance_compute_blas_threshold = 1;
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
  });
}

Error index_error(const char* what, const std::exception& e) {
  return make_error(Errc::internal, std::string("vector index ") + what + " failed: " + e.what());
}

const idx_t* as_labels(const std::vector<std::int64_t>& ids) {
  return reinterpret_cast<const idx_t*>(ids.data());
}

// Raw search output: n rows of k (label, score), -1 labels where FAISS found fewer.
struct RawResults {
  idx_t k = 0;
  std::vector<float> scores;
  std::vector<idx_t> labels;
};

}  // namespace

// One kind of index. Called with VectorIndex::mutex_ held (exclusive for add/remove,
// shared for the rest), so implementations need no locking of their own; search paths
// must not mutate. The replacement a rebuild builds is private to the rebuild thread
// until it is swapped in, so that thread calls it without the lock.
struct VectorIndex::Impl {
  virtual ~Impl() = default;
  // ids hold no duplicates; present ids are replaced.
  virtual void add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n) = 0;
  virtual std::size_t remove(const std::vector<std::int64_t>& ids) = 0;
  // Up to k live results per query, best first.
  virtual std::vector<std::vector<ScoredId>> search(const float* queries, std::size_t n, int k) const = 0;
  virtual void reconstruct(std::int64_t id, float* out) const = 0;
  virtual bool contains(std::int64_t id) const = 0;
  virtual std::size_t size() const = 0;
  virtual Stats stats() const { return VectorIndex::Stats{size(), 0, true, 0, false}; }

  // Rebuilds (VectorIndex::rebuild_once). Whether this index should be replaced now.
  virtual bool wants_rebuild() const { return false; }
  virtual const char* rebuild_name() const { return "rebuild"; }
  // The live ids, in the order the replacement should take them.
  virtual std::vector<std::int64_t> live_ids() const = 0;
  // How many of the live vectors the replacement trains on (0: no training).
  virtual std::size_t training_sample_size() const { return 0; }
  // A new, empty index of the kind this one becomes, trained on the `n` sample vectors
  // when it needs training. Reads only what never changes after construction (dim and
  // config): the rebuild thread calls it without the lock.
  virtual std::unique_ptr<Impl> make_replacement(const float* /*sample*/, std::size_t /*n*/) const {
    throw std::logic_error("this index is never rebuilt");
  }
};

namespace {

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

RawResults run_search(const faiss::Index& index, const float* queries, std::size_t n, idx_t k) {
  RawResults raw;
  raw.k = k;
  raw.scores.resize(n * static_cast<std::size_t>(k));
  raw.labels.resize(n * static_cast<std::size_t>(k));
  index.search(static_cast<idx_t>(n), queries, k, raw.scores.data(), raw.labels.data());
  return raw;
}

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

std::unique_ptr<VectorIndex::Impl> make_impl(int dim, const IndexConfig& config) {
  if (config.type == "hnsw") return std::make_unique<HnswIndex>(dim, config);
  if (config.type == "ivf") return std::make_unique<IvfIndex>(dim, config);
  return std::make_unique<FlatIndex>(dim);
}

}  // namespace

VectorIndex::VectorIndex(int dim, IndexConfig config)
    : dim_(dim < 1 ? 1 : dim), config_(std::move(config)) {
  if (config_.type != "hnsw" && config_.type != "ivf") config_.type = "flat";
  pin_openmp_to_one_thread();
  configure_blas_once();
  impl_ = make_impl(dim_, config_);
  publish_stats();
}

void VectorIndex::publish_stats() {
  const Stats s = impl_->stats();
  stat_vectors_.store(s.vectors, std::memory_order_relaxed);
  stat_tombstones_.store(s.tombstones, std::memory_order_relaxed);
  stat_rebuilds_.store(rebuilds_, std::memory_order_relaxed);
  stat_trained_.store(s.trained, std::memory_order_relaxed);
  stat_rebuilding_.store(rebuild_running_, std::memory_order_relaxed);
}

VectorIndex::~VectorIndex() {
  closing_.store(true);
  std::thread rebuild;
  {
    std::unique_lock lock(mutex_);
    rebuild = std::move(rebuild_thread_);
  }
  if (rebuild.joinable()) rebuild.join();
}

Result<void> VectorIndex::add(const std::vector<std::int64_t>& ids, const float* vectors,
                              std::size_t n) {
  if (ids.size() != n) {
    return make_error(Errc::internal, "vector index add: " + std::to_string(ids.size()) +
                                          " ids for " + std::to_string(n) + " vectors");
  }
  if (n == 0) return {};
  if (vectors == nullptr) return make_error(Errc::internal, "vector index add: no vectors");
  std::unordered_set<std::int64_t> seen;
  seen.reserve(n);
  for (auto id : ids) {
    if (!seen.insert(id).second) {
      return make_error(Errc::internal, "vector index add: id " + std::to_string(id) + " twice");
    }
  }
  pin_openmp_to_one_thread();
  std::unique_lock lock(mutex_);
  try {
    if (config_.type == "hnsw" && n >= kParallelInsertMin) {
      AllCoresForInsert all_cores;
      impl_->add(ids, vectors, n);
    } else {
      impl_->add(ids, vectors, n);
    }
    if (recording_) {
      pending_.push_back(PendingWrite{false, ids, std::vector<float>(vectors, vectors + n * static_cast<std::size_t>(dim_))});
    }
  } catch (const std::exception& e) {
    publish_stats();
    return index_error("add", e);
  }
  start_rebuild_if_due();
  publish_stats();
  return {};
}

Result<std::size_t> VectorIndex::remove(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return std::size_t{0};
  pin_openmp_to_one_thread();
  std::unique_lock lock(mutex_);
  try {
    const std::size_t removed = impl_->remove(ids);
    if (removed != 0 && recording_) pending_.push_back(PendingWrite{true, ids, {}});
    start_rebuild_if_due();
    publish_stats();
    return removed;
  } catch (const std::exception& e) {
    publish_stats();
    return index_error("remove", e);
  }
}

void VectorIndex::start_rebuild_if_due() {
  if (rebuild_running_ || closing_.load() || !impl_->wants_rebuild()) return;
  if (std::chrono::steady_clock::now() < retry_after_) return;
  // The last rebuild thread has cleared rebuild_running_ and never takes the lock again, so
  // this join waits for nothing but its return.
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  // From here on every write is also recorded, to be replayed onto the new index: the live
  // vectors the rebuild copies later already include some of them, but adds (upserts) and
  // removes give the same result when applied again, in order.
  recording_ = true;
  rebuild_running_ = true;
  try {
    rebuild_thread_ = std::thread([this] { run_rebuilds(); });
  } catch (const std::system_error& e) {
    recording_ = false;
    rebuild_running_ = false;
    pending_.clear();
    retry_after_ = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    spdlog::error("vector index {} not started: {}", impl_->rebuild_name(), e.what());
  }
}

void VectorIndex::run_rebuilds() {
  pin_openmp_to_one_thread();
  while (rebuild_once()) {
  }
}

// The live vectors are copied and inserted this many at a time: the copy holds the shared
// lock (writers wait for one slice at most), the insertion none.
constexpr std::size_t kRebuildSlice = 4096;

bool VectorIndex::rebuild_once() {
  const auto started = std::chrono::steady_clock::now();
  const Impl* source = nullptr;  // only this thread replaces impl_, so it stays valid
  std::vector<std::int64_t> ids;
  std::size_t sample_size = 0;
  std::function<void()> hook;
  std::string name;
  {
    std::shared_lock lock(mutex_);
    source = impl_.get();
    name = source->rebuild_name();
    ids = source->live_ids();
    sample_size = std::min(ids.size(), source->training_sample_size());
    hook = rebuild_hook_;
  }
  spdlog::info("vector index {} started: vectors={} (searches and writes go on with the old index)", name,
               ids.size());
  const auto d = static_cast<std::size_t>(dim_);
  // Copies the vectors of those of ids[first, last) still present, under the shared lock.
  auto copy_slice = [&](const std::vector<std::int64_t>& from, std::size_t first, std::size_t last,
                        std::vector<std::int64_t>& slice_ids, std::vector<float>& slice_vectors) {
    slice_ids.clear();
    slice_vectors.resize((last - first) * d);
    std::shared_lock lock(mutex_);
    for (std::size_t i = first; i < last; ++i) {
      if (!impl_->contains(from[i])) continue;  // removed since; the log has it too
      impl_->reconstruct(from[i], slice_vectors.data() + slice_ids.size() * d);
      slice_ids.push_back(from[i]);
    }
    slice_vectors.resize(slice_ids.size() * d);
  };
  std::unique_ptr<Impl> fresh;
  std::size_t replayed = 0;
  try {
    std::vector<std::int64_t> slice_ids;
    std::vector<float> slice_vectors;
    // Training (ivf): on a sample spread evenly over the live vectors.
    std::vector<float> sample;
    if (sample_size > 0) {
      std::vector<std::int64_t> sampled;
      sampled.reserve(sample_size);
      for (std::size_t i = 0; i < sample_size; ++i) sampled.push_back(ids[i * ids.size() / sample_size]);
      for (std::size_t first = 0; first < sampled.size(); first += kRebuildSlice) {
        copy_slice(sampled, first, std::min(sampled.size(), first + kRebuildSlice), slice_ids, slice_vectors);
        sample.insert(sample.end(), slice_vectors.begin(), slice_vectors.end());
      }
    }
    fresh = source->make_replacement(sample.data(), sample.size() / d);
    sample = std::vector<float>();
    for (std::size_t first = 0; first < ids.size(); first += kRebuildSlice) {
      if (closing_.load()) break;
      copy_slice(ids, first, std::min(ids.size(), first + kRebuildSlice), slice_ids, slice_vectors);
      if (!slice_ids.empty()) fresh->add(slice_ids, slice_vectors.data(), slice_ids.size());
    }
    if (hook && !closing_.load()) hook();
    if (closing_.load()) {
      abandon_rebuild("the index is being destroyed");
      return false;
    }
    // Catch up with the writes made meanwhile: most under the shared lock (searches go on),
    // the rest under the exclusive lock, where the new index is swapped in.
    auto replay = [&] {
      for (; replayed < pending_.size(); ++replayed) {
        const PendingWrite& w = pending_[replayed];
        if (w.remove) {
          fresh->remove(w.ids);
        } else {
          fresh->add(w.ids, w.vectors.data(), w.ids.size());
        }
      }
    };
    {
      std::shared_lock lock(mutex_);
      replay();
    }
    std::unique_ptr<Impl> old;
    {
      std::unique_lock lock(mutex_);
      replay();
      old = std::exchange(impl_, std::move(fresh));
      recording_ = false;
      pending_.clear();
      if (config_.type == "hnsw") ++rebuilds_;
      publish_stats();
    }
    old.reset();  // freeing a large index takes a while: not under the lock
  } catch (const std::exception& e) {
    abandon_rebuild(e.what());
    return false;
  }
  bool again = false;
  {
    std::unique_lock lock(mutex_);
    // Removes replayed onto the new graph may have worn it past its budget already.
    again = !closing_.load() && impl_->wants_rebuild();
    recording_ = again;
    rebuild_running_ = again;
    publish_stats();
  }
  rebuild_done_.notify_all();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("vector index {} done: vectors={} writes_replayed={} ms={:.0f}", name, stat_vectors_.load(),
               replayed, ms);
  return again;
}

void VectorIndex::abandon_rebuild(const std::string& why) {
  std::string name;
  {
    std::unique_lock lock(mutex_);
    name = impl_->rebuild_name();
    recording_ = false;
    rebuild_running_ = false;
    pending_.clear();
    retry_after_ = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    publish_stats();
  }
  rebuild_done_.notify_all();
  if (closing_.load()) {
    spdlog::info("vector index {} stopped: {}", name, why);
  } else {
    spdlog::error("vector index {} failed, the old index stays (next try in 60 s at the earliest): {}", name, why);
  }
}

void VectorIndex::wait_for_rebuild() const {
  std::shared_lock lock(mutex_);
  rebuild_done_.wait(lock, [this] { return !rebuild_running_; });
}

void VectorIndex::set_rebuild_hook(std::function<void()> hook) {
  std::unique_lock lock(mutex_);
  rebuild_hook_ = std::move(hook);
}

Result<std::vector<std::vector<ScoredId>>> VectorIndex::search_batch(const float* queries,
                                                                     std::size_t n, int k) const {
  if (n == 0 || k <= 0) return std::vector<std::vector<ScoredId>>(n);
  pin_openmp_to_one_thread();
  std::shared_lock lock(mutex_);
  try {
    return impl_->search(queries, n, k);
  } catch (const std::exception& e) {
    return index_error("search", e);
  }
}

Result<std::vector<ScoredId>> VectorIndex::search(const float* query, int k) const {
  auto batch = search_batch(query, 1, k);
  if (!batch) return batch.error();
  return std::move(batch->front());
}

Result<void> VectorIndex::reconstruct(const std::vector<std::int64_t>& ids, float* out) const {
  std::shared_lock lock(mutex_);
  try {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      impl_->reconstruct(ids[i], out + i * static_cast<std::size_t>(dim_));
    }
  } catch (const std::exception& e) {
    return index_error("reconstruct", e);
  }
  return {};
}

bool VectorIndex::contains(std::int64_t id) const {
  std::shared_lock lock(mutex_);
  return impl_->contains(id);
}

std::size_t VectorIndex::size() const {
  std::shared_lock lock(mutex_);
  return impl_->size();
}

VectorIndex::Stats VectorIndex::stats() const {
  return Stats{stat_vectors_.load(std::memory_order_relaxed), stat_tombstones_.load(std::memory_order_relaxed),
               stat_trained_.load(std::memory_order_relaxed), stat_rebuilds_.load(std::memory_order_relaxed),
               stat_rebuilding_.load(std::memory_order_relaxed)};
}

std::string VectorIndex::describe() const {
  if (config_.type == "hnsw") {
    return "hnsw m=" + std::to_string(config_.hnsw_m) +
           " ef_construction=" + std::to_string(config_.hnsw_ef_construction);
  }
  if (config_.type == "ivf") return "ivf nlist=" + std::to_string(config_.ivf_nlist);
  return "flat";
}

}  // namespace ragd::retrieval
