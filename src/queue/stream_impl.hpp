// Helpers shared by both sides of the job queue: reading XREAD / XREADGROUP replies, the
// fixed key names, and a cancellable sleep. Pure functions apart from sleep_for.
#pragma once

#include "ragd/queue/streams.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ragd::queue::detail {

// Stream field names carrying the JSON payloads.
inline constexpr const char* kJobField = "job";
inline constexpr const char* kReplyField = "reply";
// How long one blocking stream read waits on the server.
inline constexpr int kBlockMs = 1000;

using StreamEntry = StreamRecord;

// A string or status reply's text, moved out of the reply (job payloads are kilobytes).
inline std::optional<std::string> take_string(redis::Reply& r) {
  if (r.kind == redis::Reply::Kind::string || r.kind == redis::Reply::Kind::status) return std::move(r.str);
  return r.as_string();
}

// Entries of an array of [id, [field, value, ...]] (nil fields = deleted entry). Anything
// that does not have the documented shape is skipped. The reply's strings are moved out.
inline std::vector<StreamEntry> parse_entries(redis::Reply&& list) {
  std::vector<StreamEntry> out;
  if (!list.is_array()) return out;
  out.reserve(list.elements.size());
  for (auto& e : list.elements) {
    if (!e.is_array() || e.elements.size() != 2) continue;
    auto id = take_string(e.elements[0]);
    if (!id) continue;
    StreamEntry entry;
    entry.id = std::move(*id);
    auto& kv = e.elements[1];
    if (kv.is_nil()) {
      entry.deleted = true;
    } else if (kv.is_array()) {
      entry.fields.reserve(kv.elements.size() / 2);
      for (std::size_t i = 0; i + 1 < kv.elements.size(); i += 2) {
        auto k = take_string(kv.elements[i]);
        auto v = take_string(kv.elements[i + 1]);
        if (k && v) entry.fields.emplace_back(std::move(*k), std::move(*v));
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// Entries of the first stream in an XREAD / XREADGROUP reply (nil = none).
inline std::vector<StreamEntry> parse_stream_read(redis::Reply&& reply) {
  if (!reply.is_array() || reply.elements.empty()) return {};
  auto& stream = reply.elements.front();
  if (!stream.is_array() || stream.elements.size() != 2) return {};
  return parse_entries(std::move(stream.elements[1]));
}

// Entries claimed by XAUTOCLAIM (Redis 7 reply: [next-cursor, entries, deleted-ids]).
inline std::vector<StreamEntry> parse_autoclaim(redis::Reply&& reply) {
  if (!reply.is_array() || reply.elements.size() < 2) return {};
  return parse_entries(std::move(reply.elements[1]));
}

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(kNoThrow);
}

}  // namespace ragd::queue::detail
