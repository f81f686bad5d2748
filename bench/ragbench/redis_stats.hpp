// Redis commands per answered request: INFO commandstats read before and after each step
// (--redis-stats HOST:PORT), so that a change to the gateway's or the worker's round trips
// shows in the report next to their CPU.
//
// Thread-safety: stateless functions; read_commandstats blocks the calling thread (the
// step loop's, never a load I/O thread) on its own connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::bench {

// Calls per command from the text of INFO commandstats ("cmdstat_get:calls=12,usec=...").
std::map<std::string, std::uint64_t> parse_commandstats(std::string_view info);

// The commands counted between `before` and `after`, without the INFO calls that read them.
std::map<std::string, std::uint64_t> commandstats_delta(const std::map<std::string, std::uint64_t>& before,
                                                        const std::map<std::string, std::uint64_t>& after);

// One INFO commandstats over a fresh TCP connection to host:port; nullopt on any failure.
std::optional<std::map<std::string, std::uint64_t>> read_commandstats(const std::string& host, unsigned short port);

}  // namespace ragd::bench
