#include "ragd/orchestrator/session_store.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace ragd::orchestrator {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::int64_t count_of(const redis::Reply& r) {
  if (r.kind == redis::Reply::Kind::integer) return r.integer;
  std::int64_t n = 0;
  if (auto s = r.as_string()) std::from_chars(s->data(), s->data() + s->size(), n);
  return n;  // nil (no append yet, or expired): 0
}

// Appends, trims, bumps the append count and renews both expiries in one step; returns
// the new count.
constexpr const char* kAppendTurnScript = R"lua(
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return n
)lua";

}  // namespace

SessionStore::SessionStore(redis::Client& redis, SessionStoreConfig config, metrics::Registry& m)
    : redis_(redis),
      config_(std::move(config)),
      mirror_({std::max<std::size_t>(1, config_.l1_max_entries), 64u << 20, 16}),
      l1_hits_(m.counter("ragd_cache_lookups_total", "Cache lookups by cache and result.", {"cache", "result"})
                   .with({"session", "l1_hit"})),
      misses_(m.counter("ragd_cache_lookups_total", "", {"cache", "result"}).with({"session", "miss"})) {}

void SessionStore::remember(const std::string& list_key, const SessionSnapshot& s) {
  auto e = std::make_shared<cache::CacheEntry>();
  e->value = encode_session(s);
  e->created_unix_ms = unix_ms();
  e->fresh_until_ms = e->created_unix_ms + config_.ttl_ms;
  e->stale_until_ms = e->fresh_until_ms;
  mirror_.put(list_key, std::move(e));
}

asio::awaitable<Result<std::vector<Turn>>> SessionStore::load(std::string tenant, std::string session_id) {
  const std::string list_key = key(config_.key_prefix, tenant, session_id);
  const std::string count_key = list_key + ":n";
  std::optional<SessionSnapshot> mirrored_turns;
  if (mirrored()) {
    if (auto e = mirror_.get(list_key, unix_ms())) mirrored_turns = decode_session(e->value);
  }
  if (mirrored_turns) {
    // Commands are built before co_await: GCC 12 miscompiles braced lists inside it.
    redis::Command get{"GET", count_key};
    auto count = co_await redis_.command(std::move(get));
    if (!count) co_return count.error();
    if (count_of(*count) == mirrored_turns->version) {
      l1_hits_.inc();
      co_return std::move(mirrored_turns->turns);
    }
  }
  // The count first: see session_history.hpp for why the order matters.
  std::vector<redis::Command> cmds{{"GET", count_key}, {"LRANGE", list_key, std::to_string(-config_.turns), "-1"}};
  auto reply = co_await redis_.pipeline(std::move(cmds));
  if (!reply) co_return reply.error();
  misses_.inc();
  SessionSnapshot snapshot;
  snapshot.version = reply->size() == 2 ? count_of((*reply)[0]) : 0;
  if (reply->size() == 2) {
    for (const auto& e : (*reply)[1].elements) {
      auto s = e.as_string();
      if (!s) continue;
      auto j = json::parse(*s, nullptr, false);
      if (j.is_object() && j.contains("q") && j.contains("a") && j["q"].is_string() && j["a"].is_string()) {
        snapshot.turns.push_back({j["q"].get<std::string>(), j["a"].get<std::string>()});
      }
    }
  }
  if (mirrored()) remember(list_key, snapshot);
  co_return std::move(snapshot.turns);
}

asio::awaitable<void> SessionStore::append(std::string tenant, std::string session_id, std::string question,
                                           std::string answer) {
  std::string entry = json{{"q", question}, {"a", answer}}.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string list_key = key(config_.key_prefix, tenant, session_id);
  const int keep = std::max(1, config_.turns);
  std::optional<SessionSnapshot> mirrored_turns;
  if (mirrored()) {
    if (auto e = mirror_.get(list_key, unix_ms())) mirrored_turns = decode_session(e->value);
  }
  redis::Command cmd = redis::make_command("EVAL", kAppendTurnScript, 2, list_key, list_key + ":n", std::move(entry),
                                           keep, config_.ttl_ms);
  auto r = co_await redis_.command(std::move(cmd));
  if (!r || r->is_error()) {
    spdlog::warn("session history not saved: {}", r ? r->str : log_text(r.error()));
    mirror_.erase(list_key);
    co_return;
  }
  if (!mirrored()) co_return;
  const std::int64_t count = count_of(*r);
  if (mirrored_turns && mirrored_turns->version == count - 1) {
    // Nobody appended since this gateway read the turns: the mirror follows without a read.
    remember(list_key, {count, append_and_trim(std::move(mirrored_turns->turns),
                                                 {std::move(question), std::move(answer)}, keep)});
  } else {
    mirror_.erase(list_key);
  }
}

}  // namespace ragd::orchestrator
