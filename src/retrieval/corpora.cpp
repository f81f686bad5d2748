#include "ragd/retrieval/corpora.hpp"

#include "ragd/redis/tenant_keys.hpp"

#include <algorithm>
#include <utility>

namespace ragd::retrieval {

Corpora::Corpora(const RetrievalConfig& config, int dim)
    : config_(config),
      dim_(dim),
      analyzer_(config.analyzer),
      index_description_(VectorIndex(dim, config.index).describe()) {}

std::shared_ptr<Corpus> Corpora::lookup(std::string_view tenant) const {
  std::shared_lock lock(map_mutex_);
  auto it = corpora_.find(tenant);
  if (it == corpora_.end()) return nullptr;
  return it->second;
}

std::shared_ptr<const Corpus> Corpora::find(std::string_view tenant) const { return lookup(tenant); }

std::shared_ptr<Corpus> Corpora::obtain(const std::string& tenant) {
  {
    std::shared_lock lock(map_mutex_);
    auto it = corpora_.find(tenant);
    if (it != corpora_.end()) return it->second;
  }
  std::unique_lock lock(map_mutex_);
  auto& slot = corpora_[tenant];
  if (!slot) slot = std::make_shared<Corpus>(config_, dim_);
  return slot;
}

std::vector<std::pair<std::string, std::shared_ptr<Corpus>>> Corpora::all() const {
  std::shared_lock lock(map_mutex_);
  return {corpora_.begin(), corpora_.end()};
}

Result<IngestStats> Corpora::add(Corpus& corpus, PreparedDocuments batch, const ChangePosition* at) {
  std::shared_lock cut(cut_mutex_);
  auto stats = corpus.add(std::move(batch), at);
  if (stats) {
    if (at) {
      std::lock_guard lock(position_mutex_);
      position_ = *at;
    }
    changes_.fetch_add(1, std::memory_order_acq_rel);
  }
  return stats;
}

Result<bool> Corpora::remove(std::string_view tenant, const std::string& doc_id, const ChangePosition* at) {
  std::shared_lock cut(cut_mutex_);
  const auto corpus = lookup(tenant);
  Result<bool> removed = false;
  if (corpus) removed = corpus->remove(doc_id, at);
  if (!removed) return removed;
  if (at) {
    std::lock_guard lock(position_mutex_);
    position_ = *at;
  }
  if (*removed || at) changes_.fetch_add(1, std::memory_order_acq_rel);
  return removed;
}

std::uint64_t Corpora::version(std::string_view tenant) const {
  const auto corpus = find(tenant);
  return corpus ? corpus->version() : 0;
}

std::optional<StoredDocument> Corpora::document(std::string_view tenant, const std::string& doc_id) const {
  const auto corpus = find(tenant);
  if (!corpus) return std::nullopt;
  return corpus->document(doc_id);
}

DocumentPage Corpora::list_documents(std::string_view tenant, std::string_view after, std::size_t limit) const {
  const auto corpus = find(tenant);
  if (!corpus) return {};
  return corpus->list_documents(after, limit);
}

ChangePosition Corpora::position() const {
  std::lock_guard lock(position_mutex_);
  return position_;
}

std::size_t Corpora::tenant_count() const {
  std::shared_lock lock(map_mutex_);
  return corpora_.size();
}

std::size_t Corpora::chunk_count() const {
  std::size_t n = 0;
  for (const auto& [tenant, corpus] : all()) n += corpus->chunk_count();
  return n;
}

std::size_t Corpora::document_count() const {
  std::size_t n = 0;
  for (const auto& [tenant, corpus] : all()) n += corpus->document_count();
  return n;
}

std::uint64_t Corpora::max_version() const {
  std::uint64_t v = 0;
  for (const auto& [tenant, corpus] : all()) v = std::max(v, corpus->version());
  return v;
}

VectorIndex::Stats Corpora::index_stats() const {
  VectorIndex::Stats total;
  total.trained = true;
  for (const auto& [tenant, corpus] : all()) {
    const auto s = corpus->vector_index().stats();
    total.vectors += s.vectors;
    total.tombstones += s.tombstones;
    total.rebuilds += s.rebuilds;
    total.trained = total.trained && s.trained;
    total.rebuilding = total.rebuilding || s.rebuilding;
  }
  return total;
}

void Corpora::wait_for_rebuild() const {
  for (const auto& [tenant, corpus] : all()) corpus->vector_index().wait_for_rebuild();
}

Result<SnapshotData> Corpora::snapshot(EmbedderStamp stamp, std::uint64_t* changes) const {
  SnapshotData data;
  data.dim = stamp.dim;
  data.embedder_version = stamp.version;
  data.analyzer = analyzer_.identity();
  data.index_description = index_description_;
  std::unique_lock cut(cut_mutex_);
  const ChangePosition at = position();
  data.replication_stream_id = at.stream_id;
  data.replication_sequence = at.sequence;
  if (changes) *changes = changes_.load(std::memory_order_acquire);
  for (const auto& [tenant, corpus] : all()) {  // in name order: equal stores give equal files
    auto part = corpus->snapshot();
    if (!part) return part.error();
    part->tenant = tenant;
    data.tenants.push_back(std::move(*part));
  }
  return data;
}

Result<void> Corpora::restore(SnapshotData data) {
  std::unique_lock cut(cut_mutex_);
  {
    std::shared_lock lock(map_mutex_);
    if (!corpora_.empty()) {
      return make_error(Errc::internal, "load_snapshot needs empty corpora; they hold " +
                                            std::to_string(corpora_.size()) + " tenants");
    }
  }
  std::map<std::string, std::shared_ptr<Corpus>, std::less<>> restored;
  for (TenantSnapshot& part : data.tenants) {
    if (!redis::valid_tenant(part.tenant) || restored.count(part.tenant) != 0) {
      return make_error(Errc::internal, "snapshot names tenant '" + part.tenant + "' twice or badly");
    }
    auto corpus = std::make_shared<Corpus>(config_, dim_);
    const std::string tenant = part.tenant;
    if (auto r = corpus->restore(std::move(part)); !r) return r.error();
    restored.emplace(tenant, std::move(corpus));
  }
  {
    std::unique_lock lock(map_mutex_);
    corpora_ = std::move(restored);
  }
  std::lock_guard lock(position_mutex_);
  position_ = ChangePosition{data.replication_stream_id, data.replication_sequence};
  return {};
}

}  // namespace ragd::retrieval
