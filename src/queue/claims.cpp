#include "queue/claims.hpp"
#include "ragd/queue/streams.hpp"

#include <algorithm>
#include <map>

namespace ragd::queue::detail {

namespace {

// Bounds one script's work on a consumer's pending list; a dead worker holds about its
// concurrency. A consumer with more is removed from the group only once fewer are left.
constexpr std::int64_t kScanLimit = 1000;

// KEYS[1] the stream. ARGV: group, me, owner ('' = any consumer but me), min idle ms, budget,
// alone ('1'/'0'), isolate-from delivery, max_attempts, scan limit.
// Returns {left, suspects, claimed entries, claimed ids, their deliveries}.
constexpr const char* kTakeOverScript = R"lua(
local group, me, owner = ARGV[1], ARGV[2], ARGV[3]
local min_idle, budget, alone = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local isolate_from, max_attempts, limit = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local pending
if owner ~= '' then
  pending = redis.call('XPENDING', KEYS[1], group, 'IDLE', min_idle, '-', '+', limit, owner)
else
  pending = redis.call('XPENDING', KEYS[1], group, 'IDLE', min_idle, '-', '+', limit)
end
local ids, counts, left, suspects = {}, {}, 0, 0
for _, e in ipairs(pending) do
  if e[2] ~= me then
    local delivery = e[4] + 1
    local suspect = delivery >= isolate_from and delivery <= max_attempts
    if suspect and alone and #ids == 0 then
      ids[1], counts[1], budget, alone = e[1], delivery, 0, false
    elseif not suspect and budget > 0 then
      ids[#ids + 1], counts[#counts + 1], budget = e[1], delivery, budget - 1
    else
      left = left + 1
      if suspect then suspects = suspects + 1 end
    end
  end
end
local claimed = {}
if #ids > 0 then
  claimed = redis.call('XCLAIM', KEYS[1], group, me, min_idle, unpack(ids))
  local returned = {}
  for _, c in ipairs(claimed) do
    if c then returned[c[1]] = true end
  end
  for _, id in ipairs(ids) do
    if not returned[id] then redis.call('XACK', KEYS[1], group, id) end
  end
end
if owner ~= '' and left == 0 and #pending < limit then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, owner)
end
return {left, suspects, claimed, ids, counts}
)lua";

// KEYS[1] the stream. ARGV: group, me, entry ids. Returns how many were renewed.
constexpr const char* kRenewScript = R"lua(
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
)lua";

}  // namespace

redis::Command take_over_command(const std::string& stream, const QueueConfig& config, const std::string& me,
                                 const std::string& owner, std::chrono::milliseconds min_idle,
                                 std::int64_t budget, bool alone) {
  return redis::make_command("EVAL", kTakeOverScript, 1, stream, config.group, me, owner, min_idle.count(),
                             std::clamp<std::int64_t>(budget, 0, kScanLimit), alone ? "1" : "0",
                             kIsolateFromDelivery, config.max_attempts, kScanLimit);
}

std::optional<Claimed> parse_take_over(redis::Reply&& reply) {
  if (!reply.is_array() || reply.elements.size() != 5) return std::nullopt;
  auto left = reply.elements[0].as_integer();
  auto suspects = reply.elements[1].as_integer();
  if (!left || !suspects) return std::nullopt;
  Claimed out;
  out.left = *left;
  out.suspects = *suspects;
  std::map<std::string, std::int64_t> deliveries;
  const auto& ids = reply.elements[3];
  const auto& counts = reply.elements[4];
  for (std::size_t i = 0; i < ids.elements.size() && i < counts.elements.size(); ++i) {
    auto id = ids.elements[i].as_string();
    auto n = counts.elements[i].as_integer();
    if (id && n) deliveries[*id] = *n;
  }
  out.entries = parse_entries(std::move(reply.elements[2]));
  std::erase_if(out.entries, [](const StreamEntry& e) { return e.deleted; });
  out.deliveries.reserve(out.entries.size());
  for (const auto& e : out.entries) {
    auto it = deliveries.find(e.id);
    // Unknown counts are taken as 2: a taken-over entry ran at least once before.
    out.deliveries.push_back(it == deliveries.end() ? 2 : it->second);
  }
  return out;
}

redis::Command renew_command(const std::string& stream, const QueueConfig& config, const std::string& me,
                             const std::vector<std::string>& entry_ids) {
  redis::Command cmd = redis::make_command("EVAL", kRenewScript, 1, stream, config.group, me);
  cmd.insert(cmd.end(), entry_ids.begin(), entry_ids.end());
  return cmd;
}

std::vector<redis::Command> heartbeat_commands(const QueueConfig& config, const std::string& me, std::int64_t now_ms) {
  const std::int64_t prune_after = std::max<std::int64_t>(60000, 10LL * config.worker_stale_ms);
  std::vector<redis::Command> cmds;
  cmds.push_back(redis::make_command("ZADD", workers_key(config), now_ms, me));
  cmds.push_back(
      redis::make_command("ZREMRANGEBYSCORE", workers_key(config), "-inf", "(" + std::to_string(now_ms - prune_after)));
  return cmds;
}

std::vector<redis::Command> survey_commands(std::span<const std::string> streams, const QueueConfig& config,
                                            std::chrono::milliseconds reclaim_idle) {
  std::vector<redis::Command> cmds;
  for (const auto& stream : streams) cmds.push_back(redis::make_command("XINFO", "CONSUMERS", stream, config.group));
  cmds.push_back(redis::make_command("ZRANGE", workers_key(config), 0, -1, "WITHSCORES"));
  if (reclaim_idle.count() > 0) {
    for (const auto& stream : streams) {
      cmds.push_back(
          redis::make_command("XPENDING", stream, config.group, "IDLE", reclaim_idle.count(), "-", "+", 1));
    }
  }
  return cmds;
}

std::optional<Survey> parse_survey(const std::vector<redis::Reply>& replies, std::size_t stream_count,
                                   const std::string& me) {
  if (replies.size() < stream_count + 1) return std::nullopt;
  Survey out;
  for (std::size_t i = 0; i < stream_count; ++i) {
    if (replies[i].is_error()) return std::nullopt;
    for (auto& c : parse_group_consumers(replies[i])) {
      if (c.name != me) out.consumers.push_back(std::move(c.name));
    }
  }
  out.heartbeats = parse_heartbeats(replies[stream_count]);
  for (std::size_t i = stream_count + 1; i < replies.size(); ++i) {
    if (replies[i].is_array() && !replies[i].elements.empty()) out.idle_jobs = true;
  }
  return out;
}

}  // namespace ragd::queue::detail
