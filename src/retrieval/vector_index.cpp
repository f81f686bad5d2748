// VectorIndex's lifecycle around the index kinds of vector_index_kinds.cpp: validated adds
// and removes under the lock, the pending log and background thread of a rebuild, the
// lock-free stats, and the FAISS thread set-up (OpenMP and BLAS) every caller needs.
#include "ragd/retrieval/vector_index.hpp"

#include "retrieval/vector_index_kinds.hpp"

#include <faiss/impl/FaissException.h>
#include <faiss/utils/distances.h>
#include <dlfcn.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace ragd::retrieval {
namespace {
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

IdSet::IdSet(std::vector<std::int64_t> ids) : ids_(std::move(ids)) {
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
}

bool IdSet::contains(std::int64_t id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }

Result<std::vector<ScoredId>> VectorIndex::search_among(const float* query, int k, const IdSet& among) const {
  if (k <= 0 || among.empty()) return std::vector<ScoredId>();
  pin_openmp_to_one_thread();
  std::shared_lock lock(mutex_);
  try {
    return impl_->search_among(query, k, among);
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
