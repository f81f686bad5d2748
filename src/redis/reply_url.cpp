// Reply accessors and Redis URL parsing: pure functions.
#include "ragd/redis/client.hpp"

#include "ragd/core/ascii.hpp"

#include <charconv>
#include <string_view>

namespace ragd::redis {

std::optional<std::string> Reply::as_string() const {
  switch (kind) {
    case Kind::string:
    case Kind::status: return str;
    case Kind::integer: return std::to_string(integer);
    default: return std::nullopt;
  }
}

std::optional<long long> Reply::as_integer() const {
  if (kind == Kind::integer) return integer;
  if (kind == Kind::string || kind == Kind::status) {
    long long v = 0;
    const char* end = str.data() + str.size();
    auto [p, ec] = std::from_chars(str.data(), end, v);
    if (ec == std::errc() && p == end && !str.empty()) return v;
  }
  return std::nullopt;
}

namespace {

// The URL may hold a password, so errors never echo it back.
Error url_error(std::string_view why) {
  return make_error(Errc::bad_request, "invalid redis url: " + std::string(why));
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = ascii_hex_value(s[i + 1]);
    int lo = ascii_hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

Result<Endpoint> parse_url(const std::string& url) {
  Endpoint ep;
  std::string_view s = url;
  constexpr std::string_view kUnix = "unix://";
  constexpr std::string_view kRedis = "redis://";
  if (s.starts_with(kUnix)) {
    s.remove_prefix(kUnix.size());
    auto q = s.find('?');
    std::string_view path = s.substr(0, q);
    if (path.empty() || path.front() != '/') return url_error("unix socket path must be absolute");
    ep.unix_path = std::string(path);
    ep.host.clear();
    ep.port = 0;
    if (q != std::string_view::npos) {
      std::string_view query = s.substr(q + 1);
      if (!query.starts_with("db=") || !parse_int(query.substr(3), ep.db) || ep.db < 0) {
        return url_error("expected ?db=N after the unix socket path");
      }
    }
    return ep;
  }
  if (!s.starts_with(kRedis)) return url_error("scheme must be redis:// or unix://");
  s.remove_prefix(kRedis.size());

  // Path: /db
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view db = s.substr(slash + 1);
    s = s.substr(0, slash);
    if (!db.empty() && (!parse_int(db, ep.db) || ep.db < 0)) {
      return url_error("database must be a non-negative integer");
    }
  }
  // Userinfo: [user]:password@ (the last '@', since a password may contain one encoded or not)
  if (auto at = s.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = s.substr(0, at);
    s = s.substr(at + 1);
    auto colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    std::string_view pass =
        colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1);
    if (colon == std::string_view::npos) {
      // redis://password@host is a common shorthand; treat the lone part as the password.
      pass = user;
      user = {};
    }
    auto u = percent_decode(user);
    auto p = percent_decode(pass);
    if (!u || !p) return url_error("bad percent-encoding in credentials");
    ep.username = *u;
    ep.password = *p;
  }
  // Host and port; IPv6 literals in brackets.
  std::string_view host = s;
  std::string_view port;
  if (s.starts_with('[')) {
    auto close = s.find(']');
    if (close == std::string_view::npos) return url_error("unterminated IPv6 address");
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return url_error("unexpected text after IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return url_error("empty port");
    }
  } else if (auto colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (port.empty()) return url_error("empty port");
  }
  if (host.empty()) return url_error("missing host");
  ep.host = std::string(host);
  if (!port.empty() && (!parse_int(port, ep.port) || ep.port <= 0 || ep.port > 65535)) {
    return url_error("port must be 1-65535");
  }
  return ep;
}

}  // namespace ragd::redis
