#include "ragbench/flag_values.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ragd::bench {

namespace {

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto pos = s.find(sep, start);
    out.push_back(trim(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string original(text);
  text = trim(text);
  if (text.empty()) return bad("empty duration");
  double total_ms = 0;
  int last_rank = 100;  // units must come in decreasing order: h, m, s, ms
  bool bare = true;
  while (!text.empty()) {
    std::size_t n = 0;
    while (n < text.size() && (is_digit(text[n]) || text[n] == '.')) ++n;
    if (n == 0) return bad("bad duration '" + original + "' (use e.g. 30s, 5m, 1h)");
    double value = 0;
    // std::from_chars for double is in GCC 12's libstdc++.
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, value);
    if (ec != std::errc() || ptr != text.data() + n) return bad("bad duration '" + original + "'");
    text.remove_prefix(n);
    std::size_t u = 0;
    while (u < text.size() && !is_digit(text[u]) && text[u] != '.') ++u;
    std::string_view unit = text.substr(0, u);
    text.remove_prefix(u);
    double scale = 0;
    int rank = 0;
    if (unit.empty()) {
      if (!bare || !text.empty()) return bad("bad duration '" + original + "': a unit is missing");
      scale = 1000, rank = 2;
    } else if (unit == "h") {
      scale = 3600e3, rank = 4;
    } else if (unit == "m" || unit == "min") {
      scale = 60e3, rank = 3;
    } else if (unit == "s") {
      scale = 1e3, rank = 2;
    } else if (unit == "ms") {
      scale = 1, rank = 1;
    } else {
      return bad("bad duration '" + original + "': unknown unit '" + std::string(unit) + "' (ms, s, m, h)");
    }
    if (rank >= last_rank) return bad("bad duration '" + original + "': units out of order");
    last_rank = rank;
    bare = false;
    total_ms += value * scale;
  }
  if (!std::isfinite(total_ms) || total_ms > 365.0 * 24 * 3600e3) return bad("duration '" + original + "' is too long");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
}

Result<std::vector<int>> parse_int_list(std::string_view text) {
  std::vector<int> out;
  for (auto part : split(text, ',')) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || v <= 0) {
      return bad("'" + std::string(text) + "' is not a list of positive integers");
    }
    out.push_back(v);
  }
  return out;
}

Result<std::vector<double>> parse_double_list(std::string_view text) {
  std::vector<double> out;
  for (auto part : split(text, ',')) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || !(v > 0) || !std::isfinite(v)) {
      return bad("'" + std::string(text) + "' is not a list of positive numbers");
    }
    out.push_back(v);
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  for (auto part : split(text, ',')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

std::string TargetUrl::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (port != 80) h += ":" + std::to_string(port);
  return h;
}

Result<TargetUrl> parse_url(std::string_view text) {
  const std::string original(text);
  constexpr std::string_view kScheme = "http://";
  if (text.rfind("https://", 0) == 0) return bad("https URLs are not supported: '" + original + "'");
  if (text.rfind(kScheme, 0) != 0) return bad("URL must start with http://, got '" + original + "'");
  text.remove_prefix(kScheme.size());
  TargetUrl url;
  auto slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.path = std::string(text.substr(slash));
    if (url.path == "/") url.path.clear();
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("bad IPv6 host in '" + original + "'");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("bad URL '" + original + "'");
      port_text = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("URL has no host: '" + original + "'");
  if (authority.find('@') != std::string_view::npos) return bad("URL must not carry credentials");
  if (!port_text.empty() || (authority.find(':') != std::string_view::npos && authority.front() != '[')) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return bad("bad port in '" + original + "'");
    }
    url.port = static_cast<std::uint16_t>(v);
  }
  return url;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
  if (s > 0 || out.empty()) out += std::to_string(s) + "s";
  return out;
}

}  // namespace ragd::bench
