// A Redis stream entry id, "<ms>-<seq>": the milliseconds are Redis's clock when the entry
// was added (XADD *), so an id also says when Redis took the entry.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::redis {

struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  friend auto operator<=>(const StreamId&, const StreamId&) = default;
};

// nullopt unless `text` is two decimal numbers joined by one '-'.
std::optional<StreamId> parse_stream_id(std::string_view text);
std::string to_string(const StreamId& id);

}  // namespace ragd::redis
