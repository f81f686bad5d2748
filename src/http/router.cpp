#include "ragd/http/router.hpp"

#include "ragd/core/ascii.hpp"

namespace ragd::http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(std::string_view s) { return s.size() >= 2 && s.front() == '{' && s.back() == '}'; }

}  // namespace

Result<std::string> percent_decode_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '%') {
      const int hi = i + 2 < segment.size() ? ascii_hex_value(segment[i + 1]) : -1;
      const int lo = hi >= 0 ? ascii_hex_value(segment[i + 2]) : -1;
      if (lo < 0) {
        return make_error(Errc::bad_request, "malformed percent-escape in the path: '%' must be followed by two hex digits");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return make_error(Errc::bad_request, "the path contains control characters");
    out += c;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler handler,
                 std::chrono::milliseconds backstop, WhileDraining while_draining) {
  Route r{std::move(method), std::move(pattern), {}, std::move(handler), backstop, while_draining};
  for (auto seg : split_path(r.pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  m.route = "unmatched";
  m.status = 404;
  auto segs = split_path(path);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      ok = is_param(r.segments[i]) || r.segments[i] == segs[i];
    }
    if (!ok) continue;
    if (r.method == method) {
      m.route = r.pattern;
      m.allow.clear();
      // Placeholders are decoded (an id may hold a '/', sent as %2F); literal segments are
      // compared as sent.
      for (std::size_t i = 0; i < segs.size(); ++i) {
        if (!is_param(r.segments[i])) continue;
        auto value = percent_decode_segment(segs[i]);
        if (!value) {
          m.status = 400;
          m.error = std::move(value.error().message);
          m.params.clear();
          return m;
        }
        m.params.push_back(std::move(*value));
      }
      m.handler = &r.handler;
      m.backstop = r.backstop;
      m.while_draining = r.while_draining;
      m.status = 200;
      return m;
    }
    m.status = 405;
    m.route = r.pattern;
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r.method;
  }
  return m;
}

}  // namespace ragd::http
