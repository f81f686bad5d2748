#include "ragd/replication/replicator.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/core/rendezvous.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/replication/ingest_entry.hpp"
#include "ragd/retrieval/document_validation.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace ragd::replication {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kBlockMs = 1000;               // one blocking read waits this long on the server
constexpr auto kFirstBackoff = 100ms;        // after a failed read, doubling up to kMaxBackoff
constexpr auto kMaxBackoff = 2000ms;
constexpr auto kDivergedSamplePause = 1000ms;

// Appends one entry and gives it the next sequence number, atomically. The number follows
// the stream's last entry, or the publisher's own applied sequence (ARGV[2]) when that is
// higher: after Redis lost the stream (a restart without persistence) numbering goes on
// from where a caught-up replica stands instead of restarting at 1. Returns {id, seq}.
constexpr const char* kPublishScript = R"lua(
local seq = tonumber(ARGV[2])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'seq' then
      local s = tonumber(f[i + 1])
      if s and s > seq then seq = s end
    end
  end
end
seq = seq + 1
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'seq', string.format('%d', seq), 'entry', ARGV[3])
return {id, seq}
)lua";

std::optional<std::uint64_t> parse_sequence(const std::string* text) {
  if (!text) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || text->empty()) return std::nullopt;
  return v;
}

// What applying one entry did, for the request that published it.
struct Applied {
  retrieval::IngestStats stats;  // upsert
  bool removed = false;          // delete
  std::uint64_t index_version = 0;
};

}  // namespace

std::string ingest_stream_key(const std::string& key_prefix) { return key_prefix + "ingest"; }

struct Replicator::Impl : std::enable_shared_from_this<Replicator::Impl> {
  Impl(asio::any_io_executor ex, redis::Client& redis, retrieval::LocalWriter& store, ReplicationConfig config,
       std::string origin, metrics::Registry& registry)
      : strand_(asio::make_strand(ex)),
        redis_(redis),
        store_(store),
        config_(config),
        origin_(std::move(origin)),
        key_(ingest_stream_key(redis.config().key_prefix)),
        reader_conn_(redis.dedicated_connection()),
        applied_(registry.counter("ragd_replication_entries_applied_total",
                                  "Ingest stream entries applied to this replica's index.").with()),
        published_(registry.counter("ragd_replication_entries_published_total",
                                    "Ingest stream entries published by this replica.").with()),
        errors_(registry.counter("ragd_replication_errors_total",
                                 "Replication errors by stage: read (Redis), decode (malformed entry), "
                                 "apply (index refused an entry), publish (append failed).",
                                 {"stage"})),
        lag_entries_(registry.gauge("ragd_replication_lag_entries",
                                    "Entries in the ingest stream not yet applied here.").with()),
        lag_seconds_(registry.gauge("ragd_replication_lag_seconds",
                                    "Age of the stream's last entry relative to the last applied one.").with()),
        diverged_gauge_(registry.gauge("ragd_replication_diverged",
                                       "1 when this replica cannot converge from the stream (reseed it).").with()),
        sequence_gauge_(registry.gauge("ragd_replication_applied_sequence",
                                       "Sequence number of the last applied ingest stream entry.").with()) {}

  // ---- publishing ----------------------------------------------------------------------

  static asio::awaitable<Result<Applied>> publish_entry(std::shared_ptr<Impl> self, IngestEntry entry);

  // Appends the entry; a failure is the answer of the entry's waiter (the follower cannot
  // apply what was never published).
  static asio::awaitable<void> publish_for(std::shared_ptr<Impl> self, std::string token, std::string payload) {
    auto published = co_await self->publish(std::move(payload));
    if (!published) self->applied_by_token_.deliver(token, published.error());
  }

  asio::awaitable<Result<void>> publish(std::string payload) {
    const std::uint64_t floor = status_snapshot().applied_sequence;
    auto r = co_await redis_.command(redis::make_command("EVAL", kPublishScript, 1, key_, config_.max_entries,
                                                         floor, payload));
    if (stopped_) co_return make_error(Errc::cancelled, "replication stopped");
    if (!r) {
      errors_.with({"publish"}).inc();
      // The cause (a Redis error, which may name hosts) is for the log, not for clients.
      spdlog::warn("ingest stream append failed key={}: {}", key_, log_text(r.error()));
      co_return make_error(Errc::unavailable, "the ingest stream is unavailable; retry later");
    }
    if (r->is_error() || !r->is_array() || r->elements.size() != 2) {
      errors_.with({"publish"}).inc();
      spdlog::error("ingest stream append refused key={}: {}", key_, r->is_error() ? r->str : "unexpected reply");
      co_return make_error(Errc::unavailable, "the ingest stream refused the change; retry later");
    }
    published_.inc();
    co_return Result<void>{};
  }

  // ---- following -----------------------------------------------------------------------

  static asio::awaitable<void> follow(std::shared_ptr<Impl> self) {
    const auto start = self->store_.position();
    self->last_id_ = start.stream_id.empty() ? "0-0" : start.stream_id;
    self->applied_seq_ = start.sequence;
    if (start.stream_id.empty() && self->store_.document_count() > 0) {
      spdlog::warn("replication: the index holds {} documents but no ingest stream position (it was built "
                   "without replication); applying {} from its start over them",
                   self->store_.document_count(), self->key_);
    }
    self->update_status([&](ReplicationStatus& s) {
      s.applied_id = start.stream_id;
      s.applied_sequence = start.sequence;
    });
    self->sequence_gauge_.set(static_cast<double>(start.sequence));
    spdlog::info("replication: following {} after id={} sequence={}", self->key_, self->last_id_, self->applied_seq_);
    std::chrono::milliseconds backoff = kFirstBackoff;
    const auto timeout = std::chrono::milliseconds(kBlockMs + self->redis_.config().command_timeout_ms);
    while (!self->stopped_) {
      const bool sampled = co_await self->sample_tail();
      if (self->stopped_) break;
      if (sampled && self->diverged_) {
        // Stay put: the index keeps its last consistent state; the lag stays fresh.
        co_await sleep_for(kDivergedSamplePause);
        continue;
      }
      if (sampled) {
        auto r = co_await self->reader_conn_->command(
            redis::make_command("XREAD", "COUNT", self->config_.batch, "BLOCK", kBlockMs, "STREAMS", self->key_,
                                self->last_id_),
            timeout);
        if (self->stopped_) break;
        if (r && !r->is_error()) {
          backoff = kFirstBackoff;
          for (auto& batch : queue::parse_streams_read(std::move(*r))) {
            for (auto& record : batch.records) {
              if (self->diverged_ || self->stopped_) break;
              co_await self->apply(std::move(record));
            }
          }
          continue;
        }
        self->read_failed(r ? r->str : log_text(r.error()));
      }
      co_await sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(kMaxBackoff));
    }
  }

  // Reads the stream's last entry and refreshes the lag; false when Redis failed.
  asio::awaitable<bool> sample_tail() {
    auto r = co_await reader_conn_->command(redis::make_command("XREVRANGE", key_, "+", "-", "COUNT", 1));
    if (stopped_) co_return false;  // the owner may be gone: touch nothing
    if (!r || r->is_error()) {
      read_failed(r ? r->str : log_text(r.error()));
      co_return false;
    }
    // [[id, [field, value, ...]]], or [] for an empty or missing stream.
    std::uint64_t tail_seq = 0;
    std::optional<StreamId> tail_id;
    if (r->is_array() && !r->elements.empty() && r->elements[0].is_array() && r->elements[0].elements.size() == 2) {
      const auto& last = r->elements[0];
      tail_id = parse_stream_id(last.elements[0].as_string().value_or(""));
      const auto& fields = last.elements[1].elements;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].as_string() != kSeqField) continue;
        auto value = fields[i + 1].as_string();
        tail_seq = parse_sequence(value ? &*value : nullptr).value_or(0);
      }
    }
    if (!connected_) {
      if (had_error_) spdlog::info("replication: {} reachable again; resuming after id={}", key_, last_id_);
      connected_ = true;
    }
    const auto applied_id = parse_stream_id(last_id_);
    const std::uint64_t lag = tail_seq > applied_seq_ ? tail_seq - applied_seq_ : 0;
    double lag_s = 0;
    if (lag > 0 && tail_id && applied_id && tail_id->ms > applied_id->ms) {
      lag_s = static_cast<double>(tail_id->ms - applied_id->ms) / 1000.0;
    }
    lag_entries_.set(static_cast<double>(lag));
    lag_seconds_.set(lag_s);
    update_status([&](ReplicationStatus& s) {
      s.connected = true;
      s.stream_sequence = tail_seq;
      s.lag_entries = lag;
      s.lag_seconds = lag_s;
      if (lag == 0) s.caught_up = true;
    });
    co_return true;
  }

  void read_failed(const std::string& message) {
    errors_.with({"read"}).inc();
    had_error_ = true;
    if (connected_ || !logged_disconnect_) {
      spdlog::warn("replication: cannot read {}: {}; retrying with backoff from id={}", key_, message, last_id_);
      logged_disconnect_ = true;
    }
    connected_ = false;
    update_status([](ReplicationStatus& s) { s.connected = false; });
  }

  asio::awaitable<void> apply(queue::StreamRecord record) {
    auto seq = parse_sequence(record.field(kSeqField));
    if (!seq) {
      // Not written by the publishing script: there is no order to check it against.
      errors_.with({"decode"}).inc();
      spdlog::error("replication: entry {} of {} has no sequence number; skipped", record.id, key_);
      last_id_ = record.id;
      co_return;
    }
    if (*seq != applied_seq_ + 1) {
      diverge(*seq);
      co_return;
    }
    const retrieval::ChangePosition at{record.id, *seq};
    const std::string* payload = record.field(kEntryField);
    auto entry = payload ? decode_entry(*payload) : Result<IngestEntry>(make_error(Errc::bad_request, "no entry field"));
    Result<Applied> outcome = make_error(Errc::internal, "not applied");
    std::string token;
    if (!entry) {
      errors_.with({"decode"}).inc();
      spdlog::error("replication: entry {} (sequence {}) of {} is malformed, skipped: {}", record.id, *seq, key_,
                    log_text(entry.error()));
    } else {
      token = entry->token;
      const std::string origin = entry->origin;
      outcome = co_await apply_entry(std::move(*entry), at);
      if (stopped_) co_return;  // the owner may be gone: touch nothing
      if (outcome) {
        applied_.inc();
      } else {
        // Every replica with the same config refuses the same entry the same way, so
        // skipping it keeps them together; the error says what went wrong.
        errors_.with({"apply"}).inc();
        spdlog::error("replication: entry {} (sequence {}, from {}) not applied: {}", record.id, *seq, origin,
                      log_text(outcome.error()));
      }
    }
    last_id_ = record.id;
    applied_seq_ = *seq;
    sequence_gauge_.set(static_cast<double>(*seq));
    update_status([&](ReplicationStatus& s) {
      s.applied_id = record.id;
      s.applied_sequence = *seq;
      s.lag_entries = s.stream_sequence > *seq ? s.stream_sequence - *seq : 0;
      if (s.lag_entries == 0) s.caught_up = true;
    });
    if (!token.empty()) applied_by_token_.deliver(token, std::move(outcome));
  }

  // Through the local writer, which runs the work on the retrieval pool (or awaits a remote
  // embedder), moves the corpus's change position with the change and schedules a snapshot.
  asio::awaitable<Result<Applied>> apply_entry(IngestEntry entry, retrieval::ChangePosition at) {
    Applied a;
    if (entry.op == IngestEntry::Op::remove) {
      auto removed = co_await store_.apply_remove(std::move(entry.tenant), std::move(entry.doc_id), std::move(at));
      if (!removed) co_return removed.error();
      a.removed = removed->removed;
      a.index_version = removed->index_version;
      co_return a;
    }
    auto stats = co_await store_.apply(std::move(entry.tenant), std::move(entry.documents), std::move(at));
    if (!stats) co_return stats.error();
    a.stats = *stats;
    a.index_version = stats->index_version;
    co_return a;
  }

  void diverge(std::uint64_t seq) {
    std::string reason;
    if (seq <= applied_seq_) {
      reason = "the ingest stream went back to sequence " + std::to_string(seq) + " after " +
               std::to_string(applied_seq_) + " was applied here (the stream was reset or replaced)";
    } else {
      reason = "ingest stream entries " + std::to_string(applied_seq_ + 1) + ".." + std::to_string(seq - 1) +
               " were trimmed before this replica applied them";
    }
    diverged_ = true;
    diverged_gauge_.set(1);
    spdlog::error("replication: {}; this replica stops applying changes and keeps sequence {}: reseed it "
                  "from a healthy replica's snapshot (see docs/operations.md)",
                  reason, applied_seq_);
    update_status([&](ReplicationStatus& s) {
      s.diverged = true;
      s.reason = reason;
    });
    applied_by_token_.deliver_all(make_error(
        Errc::unavailable, "this replica can no longer apply changes; the change was published and other replicas "
                           "apply it"));
  }

  static asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(kNoThrow);
  }

  template <class F>
  void update_status(F&& f) {
    std::lock_guard lock(status_mutex_);
    f(status_);
  }

  ReplicationStatus status_snapshot() const {
    std::lock_guard lock(status_mutex_);
    return status_;
  }

  void stop() {
    stopped_ = true;
    reader_conn_->close();
    update_status([](ReplicationStatus& s) { s.running = false; });
    applied_by_token_.deliver_all(make_error(Errc::cancelled, "replication stopped"));
  }

  asio::strand<asio::any_io_executor> strand_;
  redis::Client& redis_;
  retrieval::LocalWriter& store_;
  ReplicationConfig config_;
  std::string origin_;
  std::string key_;
  std::unique_ptr<redis::Connection> reader_conn_;
  metrics::Counter& applied_;
  metrics::Counter& published_;
  metrics::Family<metrics::Counter>& errors_;
  metrics::Gauge& lag_entries_;
  metrics::Gauge& lag_seconds_;
  metrics::Gauge& diverged_gauge_;
  metrics::Gauge& sequence_gauge_;

  // Publishing requests wait here, by their entry's token, until the follower applied it.
  Rendezvous<Result<Applied>> applied_by_token_;

  // Strand only.
  std::string last_id_ = "0-0";
  std::uint64_t applied_seq_ = 0;
  bool diverged_ = false;
  bool connected_ = false;
  bool had_error_ = false;
  bool logged_disconnect_ = false;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex status_mutex_;
  ReplicationStatus status_;
};

Replicator::Replicator(asio::any_io_executor ex, redis::Client& redis, retrieval::LocalWriter& store,
                       ReplicationConfig config, std::string origin, metrics::Registry& metrics)
    : impl_(std::make_shared<Impl>(std::move(ex), redis, store, config, std::move(origin), metrics)) {}

Replicator::~Replicator() { stop(); }

void Replicator::start() {
  if (impl_->started_.exchange(true)) return;
  impl_->update_status([](ReplicationStatus& s) { s.running = true; });
  asio::co_spawn(impl_->strand_, Impl::follow(impl_), asio::detached);
}

void Replicator::stop() {
  if (impl_->stopped_) return;
  impl_->stop();
}

// The append runs on its own (on the strand): cancelling this wait (client gone) must not
// cancel a command in flight, which would reset a pooled connection.
asio::awaitable<Result<Applied>> Replicator::Impl::publish_entry(std::shared_ptr<Impl> self, IngestEntry entry) {
  if (self->stopped_) co_return make_error(Errc::cancelled, "replication stopped");
  if (auto s = self->status_snapshot(); s.diverged) {
    spdlog::warn("replication: change refused, this replica diverged: {}", s.reason);
    co_return make_error(Errc::unavailable, "this replica can no longer apply changes; send changes to another replica");
  }
  entry.token = random_id();
  entry.origin = self->origin_;
  // Entered before the entry exists: the follower may apply it before the append returns.
  auto ticket = self->applied_by_token_.enter(entry.token, co_await asio::this_coro::executor);
  if (self->stopped_) co_return make_error(Errc::cancelled, "replication stopped");  // stop() missed this one
  asio::co_spawn(self->strand_, publish_for(self, entry.token, encode_entry(entry)), asio::detached);
  const std::chrono::milliseconds timeout(self->config_.apply_timeout_ms);
  auto got = co_await self->applied_by_token_.wait(ticket, timeout);
  if (got.value) co_return std::move(*got.value);
  if (got.waited == Waited::timed_out) {
    co_return make_error(Errc::deadline_exceeded,
                         "the change was published but this replica did not apply it within " +
                             std::to_string(self->config_.apply_timeout_ms) +
                             " ms; it will be applied, and repeating the request is safe");
  }
  co_return make_error(Errc::cancelled, "request cancelled while the change was being applied");
}

asio::awaitable<Result<retrieval::IngestStats>> Replicator::ingest(std::string tenant,
                                                                   std::vector<retrieval::Document> docs) {
  const auto& limits = impl_->store_.config();
  if (auto ok = retrieval::validate_documents(docs, limits, limits.max_documents_per_request); !ok) {
    co_return ok.error();
  }
  if (!redis::valid_tenant(tenant)) co_return make_error(Errc::bad_request, "tenant " + std::string(redis::kTenantRule));
  IngestEntry entry;
  entry.op = IngestEntry::Op::upsert;
  entry.tenant = std::move(tenant);
  entry.documents = std::move(docs);
  auto applied = co_await Impl::publish_entry(impl_, std::move(entry));
  if (!applied) co_return applied.error();
  co_return applied->stats;
}

asio::awaitable<Result<retrieval::RemoveResult>> Replicator::remove(std::string tenant, std::string doc_id) {
  if (auto ok = retrieval::validate_document_id(doc_id); !ok) co_return ok.error();
  if (!redis::valid_tenant(tenant)) co_return make_error(Errc::bad_request, "tenant " + std::string(redis::kTenantRule));
  IngestEntry entry;
  entry.op = IngestEntry::Op::remove;
  entry.tenant = std::move(tenant);
  entry.doc_id = std::move(doc_id);
  auto applied = co_await Impl::publish_entry(impl_, std::move(entry));
  if (!applied) co_return applied.error();
  co_return retrieval::RemoveResult{applied->removed, applied->index_version};
}

ReplicationStatus Replicator::status() const { return impl_->status_snapshot(); }

}  // namespace ragd::replication
