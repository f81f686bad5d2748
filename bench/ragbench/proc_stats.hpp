// Reading a process's resident memory and CPU time from /proc (Linux), finding processes
// by name, and this process's own CPU time. Reads small files synchronously: call from the
// sampler's own thread, never from a load I/O thread.
//
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::bench {

struct ProcStat {
  std::string comm;             // the name in /proc/PID/stat, without parentheses
  std::uint64_t cpu_ticks = 0;  // utime + stime, in clock ticks
  std::uint64_t rss_pages = 0;
};

// Parses one /proc/PID/stat line. The name may contain spaces and parentheses, so fields
// are counted from the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view line);

std::optional<ProcStat> read_proc_stat(int pid);

// Live processes whose /proc/PID/comm is exactly `name` (comm is cut at 15 characters).
std::vector<int> find_pids_by_name(const std::string& name);

long clock_ticks_per_second();
long page_size_bytes();

// CPU ticks (utime + stime) of the given processes and of every process with one of the
// given names, summed by process name (comm). Processes that are gone are left out.
std::map<std::string, std::uint64_t> cpu_ticks_by_name(const std::vector<int>& pids,
                                                       const std::vector<std::string>& names);

// The host's 1-minute load average (the first field of /proc/loadavg); nullopt when unreadable.
std::optional<double> load_average_1m();

// User + system CPU seconds of this process (getrusage), all threads.
double self_cpu_seconds();

}  // namespace ragd::bench
