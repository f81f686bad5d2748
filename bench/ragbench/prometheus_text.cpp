#include "ragbench/prometheus_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace ragd::bench {

namespace {

// Calls f(labels, value) for every sample line of metric `name`.
void for_each_sample(std::string_view text, std::string_view name,
                     const std::function<void(std::string_view, double)>& f) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, name.size()) != name) continue;
    std::string_view rest = line.substr(name.size());
    std::string_view labels;
    if (!rest.empty() && rest.front() == '{') {
      auto close = rest.rfind('}');
      if (close == std::string_view::npos) continue;
      labels = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) continue;  // a longer name
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    auto sp = rest.find(' ');  // an optional timestamp follows the value
    std::string_view value_text = rest.substr(0, sp);
    double v = 0;
    auto [ptr, ec] = std::from_chars(value_text.data(), value_text.data() + value_text.size(), v);
    if (ec != std::errc()) {
      if (value_text == "+Inf") v = HUGE_VAL;
      else continue;
    }
    f(labels, v);
  }
}

// The value of label `key` in `k1="v1",k2="v2"`; label values in ragd's metrics carry no
// escaped quotes, so the first closing quote ends the value.
std::optional<std::string_view> label_value(std::string_view labels, std::string_view key) {
  std::size_t pos = 0;
  while (pos < labels.size()) {
    auto eq = labels.find('=', pos);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view k = labels.substr(pos, eq - pos);
    while (!k.empty() && (k.front() == ' ' || k.front() == ',')) k.remove_prefix(1);
    if (eq + 1 >= labels.size() || labels[eq + 1] != '"') return std::nullopt;
    auto close = labels.find('"', eq + 2);
    if (close == std::string_view::npos) return std::nullopt;
    if (k == key) return labels.substr(eq + 2, close - eq - 2);
    pos = close + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> prometheus_sum(std::string_view text, std::string_view name, std::string_view label,
                                     std::string_view value) {
  std::optional<double> sum;
  for_each_sample(text, name, [&](std::string_view labels, double v) {
    if (!label.empty()) {
      auto lv = label_value(labels, label);
      if (!lv || *lv != value) return;
    }
    sum = sum.value_or(0) + v;
  });
  return sum;
}

std::map<std::string, double> prometheus_by_label(std::string_view text, std::string_view name,
                                                  std::string_view label) {
  std::map<std::string, double> out;
  for_each_sample(text, name, [&](std::string_view labels, double v) {
    if (auto lv = label_value(labels, label)) out[std::string(*lv)] += v;
  });
  return out;
}

std::optional<HistogramSnapshot> prometheus_histogram(std::string_view text, std::string_view name,
                                                      std::string_view label, std::string_view value) {
  const std::string base(name);
  HistogramSnapshot h;
  for_each_sample(text, base + "_bucket", [&](std::string_view labels, double v) {
    if (!label.empty()) {
      auto lv = label_value(labels, label);
      if (!lv || *lv != value) return;
    }
    auto le = label_value(labels, "le");
    if (!le) return;
    double bound = 0;
    if (*le == "+Inf") {
      bound = std::numeric_limits<double>::infinity();
    } else {
      auto [ptr, ec] = std::from_chars(le->data(), le->data() + le->size(), bound);
      if (ec != std::errc() || ptr != le->data() + le->size()) return;
    }
    h.buckets.emplace_back(bound, v);
  });
  if (h.buckets.empty()) return std::nullopt;
  std::sort(h.buckets.begin(), h.buckets.end());
  h.sum = prometheus_sum(text, base + "_sum", label, value).value_or(0);
  h.count = prometheus_sum(text, base + "_count", label, value).value_or(h.buckets.back().second);
  return h;
}

std::optional<HistogramSnapshot> histogram_delta(const HistogramSnapshot& before, const HistogramSnapshot& after) {
  if (before.buckets.size() != after.buckets.size()) return std::nullopt;
  HistogramSnapshot d;
  d.buckets.reserve(after.buckets.size());
  for (std::size_t i = 0; i < after.buckets.size(); ++i) {
    const auto& [le, n] = after.buckets[i];
    if (le != before.buckets[i].first || n < before.buckets[i].second) return std::nullopt;
    d.buckets.emplace_back(le, n - before.buckets[i].second);
  }
  if (after.count < before.count) return std::nullopt;
  d.sum = after.sum - before.sum;
  d.count = after.count - before.count;
  return d;
}

std::optional<double> histogram_quantile(const HistogramSnapshot& h, double q) {
  if (h.buckets.empty() || h.buckets.back().second <= 0) return std::nullopt;
  const double rank = q * h.buckets.back().second;
  double lower = 0;
  double below = 0;
  for (const auto& [le, n] : h.buckets) {
    if (n >= rank && n > below) {
      if (std::isinf(le)) return lower;  // past the last finite bound: that bound is all we know
      return lower + (le - lower) * (rank - below) / (n - below);
    }
    if (!std::isinf(le)) lower = le;
    below = n;
  }
  return lower;
}

std::optional<double> histogram_share_at_most(const HistogramSnapshot& h, double bound) {
  if (h.buckets.empty() || h.buckets.back().second <= 0) return std::nullopt;
  const double total = h.buckets.back().second;
  double lower = 0;
  double below = 0;
  for (const auto& [le, n] : h.buckets) {
    if (bound <= le) {
      if (bound == le || std::isinf(le)) return (bound == le ? n : below) / total;
      return (below + (n - below) * (bound - lower) / (le - lower)) / total;
    }
    lower = le;
    below = n;
  }
  return 1.0;
}

}  // namespace ragd::bench
