#include "ragbench/proc_stats.hpp"

#include <algorithm>

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ragd::bench {

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  auto open = line.find('(');
  auto close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat s;
  s.comm = std::string(line.substr(open + 1, close - open - 1));
  // After ") " come fields 3.. of proc(5): state(3) ... utime(14) stime(15) ... rss(24).
  std::string_view rest = line.substr(close + 1);
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    auto end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    if (end > pos) fields.push_back(rest.substr(pos, end - pos));
    pos = end;
  }
  auto field = [&](int number, std::uint64_t& out) {
    const auto index = static_cast<std::size_t>(number - 3);
    if (index >= fields.size()) return false;
    auto f = fields[index];
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return ec == std::errc();
  };
  std::uint64_t utime = 0, stime = 0;
  if (!field(14, utime) || !field(15, stime) || !field(24, s.rss_pages)) return std::nullopt;
  s.cpu_ticks = utime + stime;
  return s;
}

std::optional<ProcStat> read_proc_stat(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return parse_proc_stat(line);
}

std::vector<int> find_pids_by_name(const std::string& name) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string base = entry.path().filename().string();
    int pid = 0;
    auto [ptr, perr] = std::from_chars(base.data(), base.data() + base.size(), pid);
    if (perr != std::errc() || ptr != base.data() + base.size()) continue;
    std::ifstream in(entry.path() / "comm");
    std::string comm;
    if (in && std::getline(in, comm) && comm == name.substr(0, 15)) pids.push_back(pid);
  }
  return pids;
}

std::map<std::string, std::uint64_t> cpu_ticks_by_name(const std::vector<int>& pids,
                                                       const std::vector<std::string>& names) {
  std::vector<int> all = pids;
  for (const auto& name : names) {
    for (int pid : find_pids_by_name(name)) {
      if (std::find(all.begin(), all.end(), pid) == all.end()) all.push_back(pid);
    }
  }
  std::map<std::string, std::uint64_t> out;
  for (int pid : all) {
    if (auto st = read_proc_stat(pid)) out[st->comm] += st->cpu_ticks;
  }
  return out;
}

long clock_ticks_per_second() { return sysconf(_SC_CLK_TCK); }
long page_size_bytes() { return sysconf(_SC_PAGESIZE); }

std::optional<double> load_average_1m() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  if (!(in >> load)) return std::nullopt;
  return load;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

}  // namespace ragd::bench
