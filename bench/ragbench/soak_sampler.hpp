// The soak sampler: once a second, on its own thread, it reads RSS and CPU of the watched
// processes from /proc, scrapes ragd's /metrics (queue depth, answer-cache outcomes) and
// reads the load's live counters, and appends a SoakSample. Its blocking /proc reads and
// its HTTP scrape never run on a load I/O thread.
//
// Thread-safety: start() and stop() from one controlling thread; samples() after stop().
#pragma once

#include "ragbench/flag_values.hpp"
#include "ragbench/soak.hpp"
#include "ragbench/stats.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ragd::bench {

struct SamplerOptions {
  std::vector<int> pids;
  std::vector<std::string> names;  // re-resolved every tick, so restarted processes are followed
  std::optional<TargetUrl> metrics;  // host, port and path of /metrics; none = no scrape
  std::chrono::milliseconds interval{1000};
};

class SoakSampler {
 public:
  SoakSampler(SamplerOptions options, const LiveCounters* live);
  ~SoakSampler();
  SoakSampler(const SoakSampler&) = delete;
  SoakSampler& operator=(const SoakSampler&) = delete;

  void start();
  void stop();
  const std::vector<SoakSample>& samples() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::bench
