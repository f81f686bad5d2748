#include "ragd/core/completion_token.hpp"

#include "ragbench/soak_sampler.hpp"

#include "ragbench/metrics_scrape.hpp"
#include "ragbench/proc_stats.hpp"
#include "ragbench/prometheus_text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <map>
#include <thread>

namespace ragd::bench {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct SoakSampler::Impl {
  SamplerOptions options;
  const LiveCounters* live;
  asio::io_context io;
  asio::steady_timer timer{io};
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::vector<SoakSample> samples;

  // State carried from one tick to the next, for rates.
  Clock::time_point started{};
  Clock::time_point last_tick{};
  std::uint64_t last_ok = 0, last_errors = 0;
  double last_self_cpu = 0;
  std::map<int, std::uint64_t> last_ticks;  // per pid
  std::map<std::string, double> last_cache;

  Impl(SamplerOptions o, const LiveCounters* l) : options(std::move(o)), live(l) {}

  void sample_processes(SoakSample& s, double dt) {
    const double page_mb = static_cast<double>(page_size_bytes()) / (1024.0 * 1024.0);
    const double hz = static_cast<double>(clock_ticks_per_second());
    std::vector<std::pair<std::string, int>> targets;
    for (int pid : options.pids) targets.emplace_back("", pid);  // labelled by name once read
    for (const auto& name : options.names) {
      for (int pid : find_pids_by_name(name)) targets.emplace_back(name, pid);
    }
    std::map<int, std::uint64_t> now_ticks;
    std::map<std::string, ProcessPoint> points;
    for (const auto& [label, pid] : targets) {
      auto st = read_proc_stat(pid);
      if (!st) continue;
      const std::string name = label.empty() ? st->comm + " " + std::to_string(pid) : label;
      auto& p = points[name];
      p.label = name;
      p.rss_mb += static_cast<double>(st->rss_pages) * page_mb;
      ++p.processes;
      now_ticks[pid] = st->cpu_ticks;
      if (auto prev = last_ticks.find(pid); prev != last_ticks.end() && dt > 0) {
        p.cpu_pct += static_cast<double>(st->cpu_ticks - prev->second) / hz / dt * 100.0;
      }
    }
    last_ticks = std::move(now_ticks);
    for (auto& [label, p] : points) s.processes.push_back(std::move(p));
  }

  void sample_metrics(SoakSample& s, const std::string& text) {
    s.queue_depth = prometheus_sum(text, "ragd_queue_depth");
    auto cache = prometheus_by_label(text, "ragd_answer_cache_total", "result");
    double all = 0, hits = 0;
    for (const auto& [k, v] : cache) {
      const double delta = v - (last_cache.count(k) ? last_cache[k] : 0.0);
      all += delta;
      if (k == "hit" || k == "stale") hits += delta;
    }
    if (!last_cache.empty() && all > 0) s.cache_hit_ratio = hits / all;
    last_cache = std::move(cache);
  }

  asio::awaitable<void> loop() {
    started = last_tick = Clock::now();
    last_self_cpu = self_cpu_seconds();
    auto next = started;
    while (!stopping.load()) {
      next += options.interval;
      timer.expires_at(next);
      co_await timer.async_wait(kNoThrow);  // a cancel means stop
      if (stopping.load()) break;
      const auto now = Clock::now();
      const double dt = std::chrono::duration<double>(now - last_tick).count();
      SoakSample s;
      s.t_s = std::chrono::duration<double>(now - started).count();
      const auto ok = live->ok.load(std::memory_order_relaxed);
      const auto errors = live->errors.load(std::memory_order_relaxed);
      s.qps = dt > 0 ? static_cast<double>(ok - last_ok) / dt : 0;
      s.errors_per_s = dt > 0 ? static_cast<double>(errors - last_errors) / dt : 0;
      const double cpu = self_cpu_seconds();
      s.client_cpu_pct = dt > 0 ? (cpu - last_self_cpu) / dt * 100.0 : 0;
      last_ok = ok, last_errors = errors, last_self_cpu = cpu, last_tick = now;
      sample_processes(s, dt);
      if (options.metrics) {
        if (auto text = co_await scrape_metrics(*options.metrics)) sample_metrics(s, *text);
      }
      samples.push_back(std::move(s));
    }
  }
};

SoakSampler::SoakSampler(SamplerOptions options, const LiveCounters* live)
    : impl_(std::make_unique<Impl>(std::move(options), live)) {}

SoakSampler::~SoakSampler() { stop(); }

void SoakSampler::start() {
  Impl* impl = impl_.get();
  asio::co_spawn(impl->io, impl->loop(), asio::detached);
  impl->thread = std::thread([impl] { impl->io.run(); });
}

void SoakSampler::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] { impl->timer.cancel(); });
  impl_->thread.join();
}

const std::vector<SoakSample>& SoakSampler::samples() const { return impl_->samples; }

}  // namespace ragd::bench
