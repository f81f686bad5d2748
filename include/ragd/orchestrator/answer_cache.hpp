// The answer cache: L1 in process, L2 in Redis (cache::TieredCache), keyed by everything
// that changes an answer (key()).
//   lookup(): a fresh entry answers now; a stale one answers now and the caller starts
//     refresh(), the one background recomputation of its key (one per process through an
//     in-flight set, one across replicas through a Redis lock; a replica that finds a fresh
//     copy in L2 takes it instead; a failed refresh keeps the stale entry serving until its
//     hard expiry, stale-if-error);
//   compute(): a miss joins or leads the one computation of its key (single flight); the
//     leader stores the answer, unless retrieval was degraded. A streamed computation's
//     sources and pieces reach every streamed request that joined it (LiveAnswer).
// Entries keep the answer as the injected renderer wrote it (the gateway's JSON), beside the
// answer's text: a hit is served and its turn appended to a session without parsing JSON.
// Its metrics: ragd_answer_cache_total{result}, ragd_answer_cache_refreshes_total{outcome},
// ragd_answer_cache_coalesced_total, and the tiered cache's (cache="answers").
//
// Thread-safety: all member functions may be called from any thread. The cache must outlive
// the computations and refreshes it starts.
#pragma once

#include "ragd/cache/single_flight.hpp"
#include "ragd/cache/tiered_cache.hpp"
#include "ragd/orchestrator/answer_computer.hpp"
#include "ragd/orchestrator/query.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ragd::metrics {
template <class M>
class Family;
}

namespace ragd::orchestrator {

struct StageMetrics;

struct AnswerCacheConfig {
  bool enabled = true;                  // false: every answer is computed, nothing stored
  bool l2_enabled = true;               // share answers between replicas through Redis
  int soft_ttl_ms = 300000;             // fresh for this long (unless a rule says otherwise)
  int hard_ttl_ms = 3600000;            // then served stale, one refresh, until this age
  std::size_t l1_max_entries = 100000;
  std::size_t l1_max_bytes = 256u << 20;
  int refresh_lock_ms = 30000;          // one refresh per key across replicas
  int refresh_timeout_ms = 30000;       // a background refresh's deadline
  std::string key_prefix = "ragd:";
};

class AnswerCache {
 public:
  using Compute = std::function<boost::asio::awaitable<Result<QueryResult>>(Computation)>;
  // An answer's fields as the response carries them; what the entries keep.
  using Render = std::function<std::string(const QueryResult&)>;

  struct Found {
    bool hit = false;     // a fresh or stale entry was found
    bool stale = false;
    double age_ms = 0;    // of the entry
    double lookup_ms = 0;
    QueryResult result;   // when hit: `rendered` set, the rest empty
  };
  struct Computed {
    Result<QueryResult> result;
    bool coalesced = false;  // waited on another request's computation
  };

  // `l2` null: L1 only. `compute` runs misses and refreshes.
  AnswerCache(boost::asio::any_io_executor executor, redis::Client* l2, AnswerCacheConfig config, Compute compute,
              Render render, StageMetrics& stages, metrics::Registry& metrics);

  bool enabled() const { return config_.enabled; }
  const AnswerCacheConfig& config() const { return config_; }

  // The key of `c`'s answer: tenant, query, profile cohort, session turns, rule
  // instructions, index version, prompt version, model, top_k and retrieval mode.
  static std::string key(const Computation& c, std::uint64_t index_version, std::string_view model);

  // A fresh or stale entry (not an expired one).
  boost::asio::awaitable<Found> lookup(std::string key);
  // Starts the background refresh of `key` with `c` at refresh priority, unless one runs.
  void refresh(const std::string& key, Computation c);
  // Joins or leads the computation of `key`, which stores its answer; waits until
  // `c.deadline_unix_ms`.
  boost::asio::awaitable<Computed> compute(std::string key, Computation c);

  // Counts an answer by how the cache served it (hit, stale, miss, bypass).
  void count(std::string_view result);

  // An entry's value: the answer's text beside its rendered fields. Exposed for tests.
  static std::string encode_value(std::string_view answer, std::string_view body);
  // The parts of a value encode_value() wrote (views into it); nullopt for anything else.
  static std::optional<std::pair<std::string_view, std::string_view>> decode_value(std::string_view value);

 private:
  boost::asio::awaitable<Result<QueryResult>> compute_and_store(Computation c, std::string key);
  boost::asio::awaitable<void> run_refresh(std::string key, Computation c);
  // compute_and_store() publishing to `live`, cancelled when every waiter has left.
  boost::asio::awaitable<Result<QueryResult>> compute_streamed(Computation c, std::string key,
                                                               std::shared_ptr<LiveAnswer> live);

  boost::asio::any_io_executor executor_;
  AnswerCacheConfig config_;
  Compute compute_;
  Render render_;
  StageMetrics& stages_;
  cache::TieredCache tiers_;
  cache::SingleFlight<QueryResult> flights_;
  std::mutex refreshing_mutex_;
  std::set<std::string> refreshing_;
  std::mutex live_mutex_;
  std::unordered_map<std::string, std::shared_ptr<LiveAnswer>> live_;  // streamed flights by key
  metrics::Family<metrics::Counter>& results_;
  metrics::Family<metrics::Counter>& refreshes_;
  metrics::Counter& coalesced_;
};

}  // namespace ragd::orchestrator
