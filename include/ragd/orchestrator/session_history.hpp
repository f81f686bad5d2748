// Session history in the gateway's memory: an L1 mirror of the Redis list of turns.
//
// The list `<prefix>t:<tenant>:session:{id}` holds the last N turns; beside it the same key
// with `:n` counts appends (one Lua script appends, trims, bumps the count and renews both TTLs, so
// they move together). A gateway keeps the turns it last read or wrote with the count they
// belong to. Reading a session then costs a GET of the count instead of an LRANGE of N turns
// and their parsing; when another replica has appended since, the counts differ and the
// list is read again. The count is read before the list, so a read racing an append can
// only pair the old count with the new list, which the next read corrects: a mirror is never
// trusted for turns it does not hold.
#pragma once

#include "ragd/orchestrator/prompt.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::orchestrator {

struct SessionSnapshot {
  std::int64_t version = 0;  // appends counted in Redis when these turns were read
  std::vector<Turn> turns;   // oldest first
};

// Length-prefixed text (no JSON to parse on an L1 hit); decode returns nullopt for anything
// encode did not write.
std::string encode_session(const SessionSnapshot& s);
std::optional<SessionSnapshot> decode_session(std::string_view text);

// `turns` with `t` appended, keeping the last `keep` (at least one).
std::vector<Turn> append_and_trim(std::vector<Turn> turns, Turn t, int keep);

}  // namespace ragd::orchestrator
