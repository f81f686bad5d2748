#include "ragd/retrieval/snapshot_keeper.hpp"

#include "ragd/core/await.hpp"
#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

SnapshotKeeper::SnapshotKeeper(const RetrievalConfig& config, Corpus& corpus, const EmbeddingStrategy& embedding,
                               PoolExecutor pool)
    : config_(config), corpus_(corpus), embedding_(embedding), pool_(pool), timer_(pool) {}

bool SnapshotKeeper::unsaved() const {
  return !config_.snapshot_path.empty() && corpus_.version() != saved_version_.load();
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
  if (corpus_.version() == saved_version_.load()) {
    stats.skipped = true;
    stats.index_version = corpus_.version();
    return stats;
  }
  const auto started = std::chrono::steady_clock::now();
  const Embedder& embedder = embedding_.embedder();
  // Copied under the corpus's read lock (searches go on), written without it.
  auto data = corpus_.snapshot({static_cast<std::uint32_t>(embedder.dim()), embedder.snapshot_version()});
  if (!data) return data.error();
  stats.documents = data->documents.size();
  stats.chunks = data->chunks.size();
  stats.index_version = data->index_version;
  const std::string bytes = encode_snapshot(*data);
  stats.bytes = bytes.size();
  if (auto w = write_file_atomically(config_.snapshot_path, bytes); !w) return w.error();
  saved_version_.store(data->index_version);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("snapshot saved path={} version={} documents={} chunks={} bytes={} ms={:.0f}",
               config_.snapshot_path, stats.index_version, stats.documents, stats.chunks, stats.bytes, ms);
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
      spdlog::error("snapshot save failed path={}: {}", config_.snapshot_path, saved.error().message);
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
                    moved ? "the file is kept as " + kept : "the file is left in place", data.error().message);
    }
    return data.error();
  }
  const Embedder& running = embedding_.embedder();
  const auto dim = static_cast<std::size_t>(running.dim());
  // BM25 is always rebuilt from the texts, with the running analyser; the built-in
  // embedder's vectors were made with the file's and must be too when that differs.
  const std::string_view file_analyzer = data->analyzer.empty() ? kLegacyAnalyzerIdentity : data->analyzer;
  const bool reanalysed = file_analyzer != corpus_.analyzer().identity();
  if (reanalysed) {
    spdlog::warn("snapshot {} was indexed with analyser '{}'; re-indexing {} chunks with '{}'", path, file_analyzer,
                 data->chunks.size(), corpus_.analyzer().identity());
  }
  if (data->dim != dim || data->embedder_version != running.snapshot_version() ||
      (reanalysed && embedding_.batch_embedder() != nullptr)) {
    // Texts are all we need: recompute vectors with the running embedder.
    spdlog::warn("snapshot {} has vectors of dim {} embedder version {:#x}; re-embedding {} chunks "
                 "for dim {} version {:#x} ({})",
                 path, data->dim, data->embedder_version, data->chunks.size(), dim, running.snapshot_version(),
                 running.identity());
    std::vector<std::string> texts;
    texts.reserve(data->chunks.size());
    for (const Chunk& c : data->chunks) texts.push_back(indexed_text(c));
    auto embedded = embedding_.embed_chunks_sync(std::move(texts));
    if (!embedded) {
      spdlog::error("snapshot {} not loaded, starting with an empty index: re-embedding failed: {}", path,
                    embedded.error().message);
      return embedded.error();
    }
    data->vectors = std::move(*embedded);
    stats.reembedded = true;
  }
  const bool described = data->has_documents;
  const std::string description = data->index_description;
  const std::uint64_t version = data->index_version;
  if (auto restored = corpus_.restore(std::move(*data)); !restored) {
    spdlog::error("snapshot {} not loaded, starting with an empty index: {}", path, restored.error().message);
    return restored.error();
  }
  if (described && description != corpus_.vector_index().describe()) {
    spdlog::info("snapshot {} was saved by a '{}' index; built as '{}' from its vectors", path, description,
                 corpus_.vector_index().describe());
  }
  // After re-embedding or re-analysing, the file on disk no longer matches: the next save
  // rewrites it.
  saved_version_.store(stats.reembedded || reanalysed ? ~std::uint64_t{0} : version);
  stats.documents = corpus_.document_count();
  stats.chunks = corpus_.chunk_count();
  stats.index_version = version;
  spdlog::info("snapshot loaded path={} version={} documents={} chunks={}", path, stats.index_version,
               stats.documents, stats.chunks);
  return stats;
}

}  // namespace ragd::retrieval
