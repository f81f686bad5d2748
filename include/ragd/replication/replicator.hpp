// Replicator: keeps the documents of every gateway replica the same through one Redis
// stream, `<redis.key_prefix>ingest` (entries: ingest_entry.hpp).
//
// Publishing (the replicated retrieval::DocumentWriter): ingest() and remove() validate
// first (document_validation.hpp; Errc::bad_request, nothing published),
// append one entry with a Lua script that also assigns its sequence number and caps the
// stream (MAXLEN ~ max_entries), then wait until this replica's own follower has applied
// that entry, so a client reads its writes on the replica it wrote to. Nothing is applied
// without being published: when Redis cannot be reached the call fails (Errc::unavailable)
// and no replica changes.
//
// Following: one coroutine per replica reads the stream with XREAD BLOCK (on a connection
// of its own) from the last applied id, for everyone reads everything (no consumer group),
// and applies the entries in order through the local writer (retrieval::LocalWriter), each
// to its tenant's corpus (the entry's tenant). The
// applied id and sequence are the corpora's change position (one for all tenants), moved
// with each change and saved in the snapshot: a restart resumes
// after them; a replica with no snapshot reads the stream from the start. Sequence numbers
// run without gaps, so a follower sees when entries it never applied were trimmed away (or
// the stream was reset): it then stops applying, keeps its last consistent state, logs an
// error and reports itself diverged (status(), /readyz, metrics) until it is reseeded from
// a healthy replica's snapshot. Read errors are retried with backoff from the same id;
// an entry that fails to apply is logged, counted and skipped; nothing stops the follower
// but stop().
//
// Thread-safety: every member function may be called from any thread; the state lives on
// one strand. Destroy the Replicator before the local writer (the Retriever) and the Redis
// client.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/document_writer.hpp"
#include "ragd/retrieval/local_writer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ragd::redis {
class Client;
}
namespace ragd::metrics {
class Registry;
}

namespace ragd::replication {

// The ingest stream's key for a Redis key prefix.
std::string ingest_stream_key(const std::string& key_prefix);

struct ReplicationStatus {
  bool running = false;    // started and not stopped
  bool connected = false;  // the follower's last Redis call succeeded
  bool caught_up = false;  // the follower reached the stream's end at least once since start
  bool diverged = false;   // cannot converge from the stream alone: reseed this replica
  std::string reason;      // why it diverged
  std::string applied_id;  // last entry applied ("" = none)
  std::uint64_t applied_sequence = 0;
  std::uint64_t stream_sequence = 0;  // the stream's last entry when last sampled
  std::uint64_t lag_entries = 0;      // stream_sequence - applied_sequence
  double lag_seconds = 0;             // between the stream's last entry and the applied one
};

class Replicator final : public retrieval::DocumentWriter {
 public:
  // `origin` names this replica in the entries it publishes (its gateway id).
  Replicator(boost::asio::any_io_executor ex, redis::Client& redis, retrieval::LocalWriter& store,
             ReplicationConfig config, std::string origin, metrics::Registry& metrics);
  ~Replicator() override;
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Starts the follower (idempotent); stop() ends it and fails waiting calls (Errc::cancelled).
  void start();
  void stop();

  // Errors: bad_request (nothing published); unavailable (Redis unreachable or refusing,
  // or this replica diverged); deadline_exceeded when the entry was published but not applied
  // here within apply_timeout_ms (it will be; repeating the call is safe); cancelled.
  boost::asio::awaitable<Result<retrieval::IngestStats>> ingest(std::string tenant,
                                                               std::vector<retrieval::Document> docs) override;
  boost::asio::awaitable<Result<retrieval::RemoveResult>> remove(std::string tenant, std::string doc_id) override;

  ReplicationStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ragd::replication
