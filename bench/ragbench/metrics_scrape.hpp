// One GET of a Prometheus text page (ragd's /metrics) over a fresh HTTP/1.1 connection,
// bounded by a deadline. Used by the soak sampler every second and around every step.
//
// Thread-safety: each call uses only its own connection.
#pragma once

#include "ragbench/flag_values.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace ragd::bench {

inline constexpr std::chrono::milliseconds kScrapeTimeout{800};

// The body of a 200 answer; nullopt on any failure (resolve, connect, timeout, other status).
boost::asio::awaitable<std::optional<std::string>> scrape_metrics(const TargetUrl& url,
                                                                  std::chrono::milliseconds timeout = kScrapeTimeout);

// The same, blocking the calling thread on an io_context of its own.
std::optional<std::string> fetch_metrics(const TargetUrl& url, std::chrono::milliseconds timeout = kScrapeTimeout);

}  // namespace ragd::bench
