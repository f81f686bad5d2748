#include "ragd/redis/stream_id.hpp"

#include <charconv>

namespace ragd::redis {

namespace {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<StreamId> parse_stream_id(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto ms = parse_u64(text.substr(0, dash));
  auto seq = parse_u64(text.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return StreamId{*ms, *seq};
}

std::string to_string(const StreamId& id) { return std::to_string(id.ms) + "-" + std::to_string(id.seq); }

}  // namespace ragd::redis
