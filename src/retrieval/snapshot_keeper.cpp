#include "ragd/retrieval/snapshot_keeper.hpp"

#include "ragd/core/await.hpp"
#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

namespace {

std::uint64_t max_version(const SnapshotData& data) {
  std::uint64_t v = 0;
  for (const TenantSnapshot& t : data.tenants) v = std::max(v, t.index_version);
  return v;
}

}  // namespace

SnapshotKeeper::SnapshotKeeper(const RetrievalConfig& config, Corpora& corpora, const EmbeddingStrategy& embedding,
                               PoolExecutor pool)
    : config_(config), corpora_(corpora), embedding_(embedding), pool_(pool), timer_(pool) {}

bool SnapshotKeeper::unsaved() const {
  return !config_.snapshot_path.empty() && corpora_.changes() != saved_changes_.load();
}

void SnapshotKeeper::close() {
  std::lock_guard lock(timer_mutex_);
  closing_ = true;
  timer_.cancel();
}

Result<SnapshotStats> SnapshotKeeper::save_sync() {
  SnapshotStats stats;
  if (config_.snapshot_path.empty()) {
    stats.skipped = true;
    return stats;
  }
  std::lock_guard save_lock(save_mutex_);
  if (corpora_.changes() == saved_changes_.load()) {
    stats.skipped = true;
    stats.index_version = corpora_.max_version();
    return stats;
  }
  const auto started = std::chrono::steady_clock::now();
  const Embedder& embedder = embedding_.embedder();
  // Copied at one cut under the corpora's read locks (searches go on), written without them.
  std::uint64_t changes = 0;
  auto data = corpora_.snapshot({static_cast<std::uint32_t>(embedder.dim()), embedder.snapshot_version()}, &changes);
  if (!data) return data.error();
  stats.tenants = data->tenants.size();
  stats.documents = data->document_count();
  stats.chunks = data->chunk_count();
  stats.index_version = max_version(*data);
  const std::string bytes = encode_snapshot(*data);
  stats.bytes = bytes.size();
  if (auto w = write_file_atomically(config_.snapshot_path, bytes); !w) return w.error();
  saved_changes_.store(changes);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("snapshot saved path={} tenants={} documents={} chunks={} bytes={} ms={:.0f}", config_.snapshot_path,
               stats.tenants, stats.documents, stats.chunks, stats.bytes, ms);
  return stats;
}

boost::asio::awaitable<Result<SnapshotStats>> SnapshotKeeper::save() {
  auto work = [this] { return save_sync(); };
  co_return co_await run_on(pool_, std::move(work));
}

void SnapshotKeeper::schedule() {
  if (config_.snapshot_path.empty()) return;
  std::lock_guard lock(timer_mutex_);
  if (closing_ || timer_armed_) return;
  // Armed by the first unsaved change and not pushed back by later ones: a steady stream
  // of changes still gets a snapshot every interval.
  timer_armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(config_.snapshot_interval_ms));
  timer_.async_wait([this](boost::system::error_code ec) {
    {
      std::lock_guard relock(timer_mutex_);
      timer_armed_ = false;
      if (ec || closing_) return;
    }
    if (auto saved = save_sync(); !saved) {
      spdlog::error("snapshot save failed path={}: {}", config_.snapshot_path, log_text(saved.error()));
      return;  // the next change tries again
    }
    if (unsaved()) schedule();
  });
}

Result<SnapshotStats> SnapshotKeeper::load() {
  SnapshotStats stats;
  if (config_.snapshot_path.empty()) {
    stats.skipped = true;
    return stats;
  }
  const std::string& path = config_.snapshot_path;
  auto data = read_snapshot_file(path);
  if (!data) {
    if (data.error().code == Errc::not_found) {
      spdlog::info("no snapshot at {}; starting with an empty index", path);
    } else {
      // Moved aside rather than left in place: the next save would overwrite it, and it
      // may be all that is left of the index.
      const std::string kept = path + ".corrupt";
      const bool moved = std::rename(path.c_str(), kept.c_str()) == 0;
      spdlog::error("snapshot not loaded, starting with an empty index ({}): {}",
                    moved ? "the file is kept as " + kept : "the file is left in place", log_text(data.error()));
    }
    return data.error();
  }
  const Embedder& running = embedding_.embedder();
  const auto dim = static_cast<std::size_t>(running.dim());
  // BM25 is always rebuilt from the texts, with the running analyser; the built-in
  // embedder's vectors were made with the file's and must be too when that differs.
  const std::string_view file_analyzer = data->analyzer.empty() ? kLegacyAnalyzerIdentity : data->analyzer;
  const bool reanalysed = file_analyzer != corpora_.analyzer().identity();
  if (reanalysed) {
    spdlog::warn("snapshot {} was indexed with analyser '{}'; re-indexing {} chunks with '{}'", path, file_analyzer,
                 data->chunk_count(), corpora_.analyzer().identity());
  }
  if (data->dim != dim || data->embedder_version != running.snapshot_version() ||
      (reanalysed && embedding_.batch_embedder() != nullptr)) {
    // Texts are all we need: recompute vectors with the running embedder.
    spdlog::warn("snapshot {} has vectors of dim {} embedder version {:#x}; re-embedding {} chunks "
                 "for dim {} version {:#x} ({})",
                 path, data->dim, data->embedder_version, data->chunk_count(), dim, running.snapshot_version(),
                 running.identity());
    for (TenantSnapshot& tenant : data->tenants) {
      std::vector<std::string> texts;
      texts.reserve(tenant.chunks.size());
      for (const Chunk& c : tenant.chunks) texts.push_back(indexed_text(c));
      auto embedded = embedding_.embed_chunks_sync(std::move(texts));
      if (!embedded) {
        spdlog::error("snapshot {} not loaded, starting with an empty index: re-embedding failed: {}", path,
                      log_text(embedded.error()));
        return embedded.error();
      }
      tenant.vectors = std::move(*embedded);
    }
    stats.reembedded = true;
  }
  const std::string description = data->index_description;
  const std::uint64_t version = max_version(*data);
  stats.tenants = data->tenants.size();
  if (auto restored = corpora_.restore(std::move(*data)); !restored) {
    spdlog::error("snapshot {} not loaded, starting with an empty index: {}", path, log_text(restored.error()));
    return restored.error();
  }
  if (!description.empty() && description != corpora_.index_description()) {
    spdlog::info("snapshot {} was saved by a '{}' index; built as '{}' from its vectors", path, description,
                 corpora_.index_description());
  }
  // After re-embedding or re-analysing, the file on disk no longer matches: the next save
  // rewrites it.
  saved_changes_.store(stats.reembedded || reanalysed ? ~std::uint64_t{0} : corpora_.changes());
  stats.documents = corpora_.document_count();
  stats.chunks = corpora_.chunk_count();
  stats.index_version = version;
  spdlog::info("snapshot loaded path={} tenants={} documents={} chunks={}", path, stats.tenants, stats.documents,
               stats.chunks);
  return stats;
}

}  // namespace ragd::retrieval
