// Parsers for ragbench's flag values: durations ("90", "10s", "5m", "1h30m", "250ms"),
// comma-separated lists of numbers, and the target URL. Pure functions; thread-safe.
#pragma once

#include "ragd/core/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::bench {

// A bare number is seconds. Units: ms, s, m, h, combinable in decreasing order ("1h30m").
// Zero is allowed (e.g. no warm-up); negative, empty or unknown units are errors.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "50,100,200": positive integers, at least one.
Result<std::vector<int>> parse_int_list(std::string_view text);

// "500,1000,2.5e3": positive numbers, at least one.
Result<std::vector<double>> parse_double_list(std::string_view text);

// Comma-separated words with blanks dropped: "ragd, ragd-worker".
std::vector<std::string> split_words(std::string_view text);

struct TargetUrl {
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 80;
  std::string path;  // "" when the URL has none (or only "/")
  std::string host_header() const;
};

// http://HOST[:PORT][/PATH]; https is refused (the tool measures the server, not TLS).
Result<TargetUrl> parse_url(std::string_view text);

// "1h 2m 3s" style rendering for reports.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace ragd::bench
