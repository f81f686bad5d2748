// The load generator: HTTP/1.1 keep-alive connections on one io_context run by a few
// threads, each connection a coroutine that runs either a closed loop (send, wait for the
// answer, send again) or an open loop (send at scheduled arrival times, latency measured
// from the intended send time so a slow server cannot hide its queueing: no coordinated
// omission). Results go to per-thread shards, merged when the step's threads have joined.
//
// Thread-safety: run_step() is called from one thread at a time; it creates and joins its
// own I/O threads.
#pragma once

#include "ragbench/flag_values.hpp"
#include "ragbench/scenario.hpp"
#include "ragbench/stats.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ragd::bench {

struct LoadTarget {
  TargetUrl url;
  std::string path = "/query";
  std::string method = "POST";  // POST sends a body from the mix; GET sends none
  std::string api_key;          // sent as Authorization: Bearer
  std::chrono::milliseconds timeout{30000};
  int threads = 1;
  std::uint64_t seed = 1;
  std::shared_ptr<const QueryMix> mix;  // required for POST
  // Ask for streamed answers ("stream": true in each body) and time the first piece
  // (`event: delta`) as well as the whole answer.
  bool stream = false;
};

enum class Arrival { poisson, uniform };

struct StepPlan {
  bool open_loop = false;
  int connections = 50;
  double rate = 0;  // open loop: requests per second over all connections
  Arrival arrival = Arrival::poisson;
  std::chrono::milliseconds warmup{0};
  std::chrono::milliseconds measure{10000};
  std::uint64_t max_requests = 0;  // 0 = bounded by time only
  std::uint64_t seed_salt = 0;     // differs per step so steps ask different unique questions
};

struct StepOutcome {
  RunShard shard;
  double measured_seconds = 0;
  double wall_seconds = 0;
  double client_cpu_seconds = 0;
  std::uint64_t completed = 0;  // every request that finished, warm-up included
};

// Throws std::runtime_error when the target cannot be resolved (a setup error, not a
// measured outcome); everything that happens to requests is counted, never thrown.
StepOutcome run_step(const LoadTarget& target, const StepPlan& plan, LiveCounters* live);

}  // namespace ragd::bench
