#include "ragd/metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace ragd::metrics {

namespace {

void atomic_add(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string labels_text(const std::vector<std::string>& names, const std::vector<std::string>& values,
                        const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty()) {
    if (!out.empty()) out += ',';
    out += extra;
  }
  return out.empty() ? std::string() : "{" + out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream ss;
  ss.precision(10);
  ss << v;
  return ss.str();
}

// Families are registered once per name: a second registration returns the first (its
// help text and labels win), so components can look their families up independently.
template <class M>
Family<M>* find(std::deque<Family<M>>& families, const std::string& name) {
  for (auto& f : families) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

}  // namespace

void Gauge::add(double v) noexcept { atomic_add(value_, v); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.count = running;
  return s;
}

double Histogram::Snapshot::quantile(double q) const {
  if (count == 0) return 0;
  double rank = q * static_cast<double>(count);
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    if (static_cast<double>(cumulative[i]) >= rank) {
      double lo = i == 0 ? 0 : upper_bounds[i - 1];
      if (i >= upper_bounds.size()) return lo;  // in +Inf: best we can say
      double hi = upper_bounds[i];
      std::uint64_t below = i == 0 ? 0 : cumulative[i - 1];
      std::uint64_t in = cumulative[i] - below;
      double frac = in ? (rank - static_cast<double>(below)) / static_cast<double>(in) : 1.0;
      return lo + (hi - lo) * std::clamp(frac, 0.0, 1.0);
    }
  }
  return upper_bounds.empty() ? 0 : upper_bounds.back();
}

std::vector<double> latency_buckets_ms() {
  return {0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000};
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  if (auto* f = find(counters_, name)) return *f;
  return counters_.emplace_back(name, help, std::move(label_names),
                                [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  if (auto* f = find(gauges_, name)) return *f;
  return gauges_.emplace_back(name, help, std::move(label_names),
                              [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  if (auto* f = find(histograms_, name)) return *f;
  return histograms_.emplace_back(
      name, help, std::move(label_names),
      [b = std::move(upper_bounds)] { return std::make_unique<Histogram>(b); });
}

void Registry::on_collect(std::function<void()> f) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(f));
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  for (const auto& c : collectors_) c();
  std::string out;
  out.reserve(16 * 1024);
  for (const auto& f : counters_) {
    out += "# HELP " + f.name() + " " + f.help() + "\n# TYPE " + f.name() + " counter\n";
    f.for_each([&](const std::vector<std::string>& values, const Counter& c) {
      out += f.name() + labels_text(f.label_names(), values) + " " + std::to_string(c.value()) + "\n";
    });
  }
  for (const auto& f : gauges_) {
    out += "# HELP " + f.name() + " " + f.help() + "\n# TYPE " + f.name() + " gauge\n";
    f.for_each([&](const std::vector<std::string>& values, const Gauge& g) {
      out += f.name() + labels_text(f.label_names(), values) + " " + number(g.value()) + "\n";
    });
  }
  for (const auto& f : histograms_) {
    out += "# HELP " + f.name() + " " + f.help() + "\n# TYPE " + f.name() + " histogram\n";
    f.for_each([&](const std::vector<std::string>& values, const Histogram& h) {
      auto s = h.snapshot();
      for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        std::string le = i < s.upper_bounds.size() ? number(s.upper_bounds[i]) : "+Inf";
        out += f.name() + "_bucket" + labels_text(f.label_names(), values, "le=\"" + le + "\"") +
               " " + std::to_string(s.cumulative[i]) + "\n";
      }
      out += f.name() + "_sum" + labels_text(f.label_names(), values) + " " + number(s.sum) + "\n";
      out += f.name() + "_count" + labels_text(f.label_names(), values) + " " +
             std::to_string(s.count) + "\n";
    });
  }
  return out;
}

}  // namespace ragd::metrics
