// Prometheus-style metrics: counters, gauges and histograms in labelled families, and the
// text exposition format for GET /metrics.
//
// Thread-safety: everything may be used from any thread. Updating a metric is a relaxed
// atomic operation (no lock); looking a labelled child up takes a shared lock, so hot paths
// should look children up once and keep the reference (children live as long as the
// registry and never move).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
    std::uint64_t count = 0;
    // Linear interpolation inside the bucket that holds quantile q (0..1).
    double quantile(double q) const;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Bucket bounds in milliseconds from 0.1 ms to 60 s, roughly x2 apart.
std::vector<double> latency_buckets_ms();

template <class M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<M>()> make)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(label_names)),
        make_(std::move(make)) {}

  // The child for these label values (created on first use). A lookup of an existing child
  // allocates nothing: it runs on every request.
  M& with(std::initializer_list<std::string_view> label_values);
  M& with() { return with(std::initializer_list<std::string_view>{}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return labels_; }
  template <class F>
  void for_each(F&& f) const {
    std::shared_lock lock(mutex_);
    for (const auto& [values, child] : children_) f(values, *child);
  }

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::function<std::unique_ptr<M>()> make_;
  // Orders label-value lists lexicographically, and compares a stored list with a list of
  // views without building strings.
  struct LabelsLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<M>, LabelsLess> children_;
};

template <class M>
M& Family<M>::with(std::initializer_list<std::string_view> label_values) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = children_.find(label_values); it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto it = children_.find(label_values);
  if (it == children_.end()) {
    it = children_.emplace(std::vector<std::string>(label_values.begin(), label_values.end()), make_()).first;
  }
  return *it->second;
}

class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names = {},
                               std::vector<double> upper_bounds = latency_buckets_ms());

  // Called at the start of every render(), to refresh gauges sampled from elsewhere.
  void on_collect(std::function<void()> f);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::deque<Family<Counter>> counters_;
  std::deque<Family<Gauge>> gauges_;
  std::deque<Family<Histogram>> histograms_;
  std::vector<std::function<void()>> collectors_;
};

}  // namespace ragd::metrics
