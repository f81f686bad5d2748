#include "ragbench/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <functional>

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

}  // namespace ragd::bench
