#include "ragd/orchestrator/session_history.hpp"

#include <charconv>

namespace ragd::orchestrator {

namespace {

void put_field(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out.append(s);
}

// Reads "<len>:<bytes>" at `pos`; advances it.
std::optional<std::string> take_field(std::string_view text, std::size_t& pos) {
  std::size_t len = 0;
  auto [p, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), len);
  if (ec != std::errc() || p == text.data() + text.size() || *p != ':') return std::nullopt;
  const std::size_t start = static_cast<std::size_t>(p - text.data()) + 1;
  if (len > text.size() - start) return std::nullopt;
  pos = start + len;
  return std::string(text.substr(start, len));
}

}  // namespace

std::string encode_session(const SessionSnapshot& s) {
  std::string out = "v1;" + std::to_string(s.version) + ";" + std::to_string(s.turns.size()) + ";";
  for (const auto& t : s.turns) {
    put_field(out, t.question);
    put_field(out, t.answer);
  }
  return out;
}

std::optional<SessionSnapshot> decode_session(std::string_view text) {
  if (!text.starts_with("v1;")) return std::nullopt;
  std::size_t pos = 3;
  SessionSnapshot s;
  std::size_t count = 0;
  const char* end = text.data() + text.size();
  auto [p1, e1] = std::from_chars(text.data() + pos, end, s.version);
  if (e1 != std::errc() || p1 == end || *p1 != ';') return std::nullopt;
  auto [p2, e2] = std::from_chars(p1 + 1, end, count);
  if (e2 != std::errc() || p2 == end || *p2 != ';') return std::nullopt;
  pos = static_cast<std::size_t>(p2 - text.data()) + 1;
  if (count > text.size()) return std::nullopt;  // each turn takes at least four bytes
  s.turns.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto q = take_field(text, pos);
    if (!q) return std::nullopt;
    auto a = take_field(text, pos);
    if (!a) return std::nullopt;
    s.turns.push_back({std::move(*q), std::move(*a)});
  }
  if (pos != text.size()) return std::nullopt;
  return s;
}

std::vector<Turn> append_and_trim(std::vector<Turn> turns, Turn t, int keep) {
  turns.push_back(std::move(t));
  const auto k = static_cast<std::size_t>(std::max(1, keep));
  if (turns.size() > k) turns.erase(turns.begin(), turns.end() - static_cast<std::ptrdiff_t>(k));
  return turns;
}

}  // namespace ragd::orchestrator
