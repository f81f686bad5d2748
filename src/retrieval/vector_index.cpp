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

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
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
// must not mutate.
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
  virtual Stats stats() const { return VectorIndex::Stats{size(), 0, true, 0}; }
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

  std::vector<std::vector<ScoredId>> search(const float* queries, std::size_t n, int k) const override {
    if (map_.ntotal == 0) return std::vector<std::vector<ScoredId>>(n);
    return collect(run_search(map_, queries, n, std::min<idx_t>(k, map_.ntotal)), n);
  }

  void reconstruct(std::int64_t id, float* out) const override { map_.reconstruct(id, out); }
  bool contains(std::int64_t id) const override { return map_.rev_map.count(id) != 0; }
  std::size_t size() const override { return static_cast<std::size_t>(map_.ntotal); }

  // The stored vectors in storage order, and their ids (for IVF training).
  const float* vectors() const { return flat_.get_xb(); }
  const std::vector<idx_t>& ids() const { return map_.id_map; }

 private:
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
    rebuild_if_worn();
  }

  std::size_t remove(const std::vector<std::int64_t>& ids) override {
    const std::size_t removed = tombstone(ids);
    if (removed != 0) rebuild_if_worn();
    return removed;
  }

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
  VectorIndex::Stats stats() const override { return VectorIndex::Stats{positions_.size(), tombstones_, true, rebuilds_}; }

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

  // A graph past its tombstone budget is rebuilt from the live vectors, in position order.
  // The rebuild costs as much as inserting them all again; it runs inside the add or
  // remove that crossed the budget, so it stalls that write and the searches behind it.
  void rebuild_if_worn() {
    const auto total = static_cast<double>(graph_->ntotal);
    if (tombstones_ == 0 || static_cast<double>(tombstones_) < config_.rebuild_deleted_fraction * total) return;
    const auto d = static_cast<std::size_t>(dim_);
    std::vector<float> live(positions_.size() * d);
    std::vector<std::int64_t> live_ids;
    live_ids.reserve(positions_.size());
    for (std::size_t pos = 0; pos < ids_.size(); ++pos) {
      if (ids_[pos] < 0) continue;
      graph_->reconstruct(static_cast<idx_t>(pos), live.data() + live_ids.size() * d);
      live_ids.push_back(ids_[pos]);
    }
    auto fresh = make_graph();
    fresh->add(static_cast<idx_t>(live_ids.size()), live.data());
    graph_ = std::move(fresh);
    ids_ = std::move(live_ids);
    positions_.clear();
    for (std::size_t pos = 0; pos < ids_.size(); ++pos) positions_[ids_[pos]] = static_cast<idx_t>(pos);
    tombstones_ = 0;
    ++rebuilds_;
  }

  int dim_;
  IndexConfig config_;
  std::unique_ptr<faiss::IndexHNSWFlat> graph_;
  std::vector<std::int64_t> ids_;
  std::unordered_map<std::int64_t, idx_t> positions_;
  std::size_t tombstones_ = 0;
  std::size_t rebuilds_ = 0;
};

// IVF: exact (a FlatIndex) until it holds train_size vectors, then k-means-trained lists.
// A hash table direct map gives reconstruct() and removal by id.
class IvfIndex final : public VectorIndex::Impl {
 public:
  IvfIndex(int dim, const IndexConfig& config)
      : dim_(dim),
        config_(config),
        train_size_(std::max<std::size_t>(config.ivf_train_size != 0 ? config.ivf_train_size
                                                                       : 39 * static_cast<std::size_t>(config.ivf_nlist),
                                          static_cast<std::size_t>(config.ivf_nlist))),
        exact_(std::make_unique<FlatIndex>(dim)) {}

  void add(const std::vector<std::int64_t>& ids, const float* vectors, std::size_t n) override {
    if (exact_) {
      exact_->add(ids, vectors, n);
      if (exact_->size() >= train_size_) train_from_exact();
      return;
    }
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

  VectorIndex::Stats stats() const override { return VectorIndex::Stats{size(), 0, exact_ == nullptr, 0}; }

 private:
  // Trains on every vector held (FAISS's k-means samples 256 per list when given more) and
  // moves them into the lists. Runs once, inside the add that reached train_size_.
  void train_from_exact() {
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(dim_);
    auto lists = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim_, config_.ivf_nlist,
                                                       faiss::METRIC_INNER_PRODUCT);
    lists->nprobe = static_cast<std::size_t>(config_.ivf_nprobe);
    const auto n = static_cast<idx_t>(exact_->size());
    lists->train(n, exact_->vectors());
    lists->set_direct_map_type(faiss::DirectMap::Hashtable);
    lists->add_with_ids(n, exact_->vectors(), exact_->ids().data());
    quantizer_ = std::move(quantizer);
    lists_ = std::move(lists);
    exact_.reset();
  }

  int dim_;
  IndexConfig config_;
  std::size_t train_size_;
  std::unique_ptr<FlatIndex> exact_;  // until trained
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
  stat_rebuilds_.store(s.rebuilds, std::memory_order_relaxed);
  stat_trained_.store(s.trained, std::memory_order_relaxed);
}

VectorIndex::~VectorIndex() = default;

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
    impl_->add(ids, vectors, n);
  } catch (const std::exception& e) {
    publish_stats();
    return index_error("add", e);
  }
  publish_stats();
  return {};
}

Result<std::size_t> VectorIndex::remove(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return std::size_t{0};
  pin_openmp_to_one_thread();
  std::unique_lock lock(mutex_);
  try {
    const std::size_t removed = impl_->remove(ids);
    publish_stats();
    return removed;
  } catch (const std::exception& e) {
    publish_stats();
    return index_error("remove", e);
  }
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
               stat_trained_.load(std::memory_order_relaxed), stat_rebuilds_.load(std::memory_order_relaxed)};
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
