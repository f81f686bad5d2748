// Corpora: the tenants' corpora, one Corpus per tenant (corpus.hpp), created on the tenant's
// first write. A tenant's documents, chunks, indexes, IDF statistics and index version are
// its own: a search runs on the caller's corpus alone, so it never sees another tenant's
// chunks and costs what the caller's own corpus costs, however large the others are. With
// auth off every request is the tenant "default" (redis::kDefaultTenant).
//
// The change position of the ordered log (the replication stream, one for all tenants) is
// kept here, not per corpus: a change at a position and the position move together, and a
// snapshot (snapshot()) is one cut across every corpus: it waits for changes being applied
// and holds new ones back while it copies, so the file's position matches what every
// tenant's corpus holds and a restart resumes right after it.
//
// A corpus, once created, lives as long as the Corpora (an emptied tenant keeps its version,
// so its answer-cache keys never go back); find() hands out shared pointers all the same.
//
// Thread-safety: every member function may be called from any thread concurrently.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/retrieval/snapshot.hpp"
#include "ragd/retrieval/vector_index.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

class Corpora {
 public:
  Corpora(const RetrievalConfig& config, int dim);
  Corpora(const Corpora&) = delete;
  Corpora& operator=(const Corpora&) = delete;

  // The tenant's corpus; null when the tenant never wrote anything.
  std::shared_ptr<const Corpus> find(std::string_view tenant) const;
  // The tenant's corpus, created empty when it has none (writers, before preparing a batch
  // for it: chunk keys and BM25 texts are the corpus's).
  std::shared_ptr<Corpus> obtain(const std::string& tenant);

  // Corpus::add and Corpus::remove on `corpus` (one of this registry's), and, when `at` is
  // given, the change position with it (see above). A remove at a position for a tenant
  // without a corpus finds nothing and still records the position.
  Result<IngestStats> add(Corpus& corpus, PreparedDocuments batch, const ChangePosition* at);
  Result<bool> remove(std::string_view tenant, const std::string& doc_id, const ChangePosition* at);

  // The tenant's index version (0 for a tenant without documents) and stored document.
  std::uint64_t version(std::string_view tenant) const;
  std::optional<StoredDocument> document(std::string_view tenant, const std::string& doc_id) const;
  // A page of the tenant's documents (Corpus::list_documents); empty for a tenant without any.
  DocumentPage list_documents(std::string_view tenant, std::string_view after, std::size_t limit) const;

  ChangePosition position() const;
  // Grows with every change of any tenant (not saved): whether a snapshot is due.
  std::uint64_t changes() const { return changes_.load(std::memory_order_acquire); }

  // Totals over every tenant (metrics, health, tools).
  std::size_t tenant_count() const;
  std::size_t chunk_count() const;
  std::size_t document_count() const;
  // The greatest tenant version.
  std::uint64_t max_version() const;
  // Vectors, tombstones and rebuilds summed; trained when every index is; rebuilding when any is.
  VectorIndex::Stats index_stats() const;
  // VectorIndex::describe() of this configuration (every corpus's index has it).
  const std::string& index_description() const { return index_description_; }
  // Blocks until no corpus's index is rebuilding (tools, tests, benchmarks).
  void wait_for_rebuild() const;
  const TextAnalyzer& analyzer() const { return analyzer_; }

  // Snapshots: every corpus at one cut (see above), tenants in name order; `stamp` says whose
  // vectors they are. `changes` gets changes() as of the cut.
  Result<SnapshotData> snapshot(EmbedderStamp stamp, std::uint64_t* changes = nullptr) const;
  // Needs no tenant to have documents yet; vectors must be of this dim. All or nothing: on
  // an error the registry is left empty.
  Result<void> restore(SnapshotData data);

 private:
  std::shared_ptr<Corpus> lookup(std::string_view tenant) const;
  std::vector<std::pair<std::string, std::shared_ptr<Corpus>>> all() const;

  const RetrievalConfig config_;
  const int dim_;
  const TextAnalyzer analyzer_;
  const std::string index_description_;

  mutable std::shared_mutex map_mutex_;  // guards corpora_
  std::map<std::string, std::shared_ptr<Corpus>, std::less<>> corpora_;

  // Changes hold it shared while they apply; a snapshot holds it exclusively while it copies.
  mutable std::shared_mutex cut_mutex_;
  mutable std::mutex position_mutex_;  // guards position_
  ChangePosition position_;
  std::atomic<std::uint64_t> changes_{0};
};

}  // namespace ragd::retrieval
