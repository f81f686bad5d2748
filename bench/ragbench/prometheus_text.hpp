// Reading figures out of a Prometheus text exposition (ragd's GET /metrics): the sum of a
// metric's samples, optionally only those with one label value, and a metric broken down
// by one label. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::bench {

// Sum of every sample of `name` (exact name, so `x_total` does not match `x_total_bytes`)
// whose labels include label="value" when a label is given; nullopt when none matched.
std::optional<double> prometheus_sum(std::string_view text, std::string_view name,
                                     std::string_view label = {}, std::string_view value = {});

// Samples of `name` summed per value of `label`: {"hit": 10, "miss": 4}.
std::map<std::string, double> prometheus_by_label(std::string_view text, std::string_view name,
                                                  std::string_view label);

}  // namespace ragd::bench
