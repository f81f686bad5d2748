#include "ragd/queue/heartbeat_watch.hpp"

#include <set>

namespace ragd::queue {

std::vector<std::string> HeartbeatWatch::dead(const std::vector<std::string>& consumers,
                                              const std::map<std::string, std::int64_t>& heartbeats,
                                              Clock::time_point now) {
  std::vector<std::string> out;
  const std::set<std::string> current(consumers.begin(), consumers.end());
  std::erase_if(seen_, [&](const auto& entry) { return !current.contains(entry.first); });
  for (const auto& name : current) {
    std::optional<std::int64_t> beat;
    if (auto it = heartbeats.find(name); it != heartbeats.end()) beat = it->second;
    auto [it, added] = seen_.try_emplace(name, Seen{beat, now});
    if (!added && it->second.beat != beat) it->second = Seen{beat, now};
    if (now - it->second.since >= stale_) out.push_back(name);
  }
  return out;
}

}  // namespace ragd::queue
