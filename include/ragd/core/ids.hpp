// Identifiers and clocks shared by every module: random ids for requests and jobs,
// wall-clock milliseconds for deadlines that cross processes, and SHA-256 for API keys
// and digests. All functions are thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ragd {

// 128 random bits as 32 lowercase hex characters (thread-local generator).
std::string random_id();

// Wall clock in milliseconds since the Unix epoch: deadlines that travel between processes
// (gateway → queue → worker) are absolute times on this clock.
std::int64_t unix_ms() noexcept;

// Monotonic milliseconds with a fractional part, for measuring stages.
double mono_ms() noexcept;

std::array<std::uint8_t, 32> sha256(std::string_view data) noexcept;
std::string sha256_hex(std::string_view data);
std::string to_hex(const std::uint8_t* data, std::size_t n);

// Compares two strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace ragd
