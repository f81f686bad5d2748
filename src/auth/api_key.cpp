#include "ragd/auth/api_key.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/redis/tenant_keys.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>

namespace ragd::auth {

namespace {

constexpr Scope kScopes[] = {Scope::query, Scope::documents_read, Scope::documents_write, Scope::admin};

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The leading decimal number of `text` and what follows it.
bool leading_number(std::string_view text, double& value, std::string_view& rest) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || p == text.data()) return false;
  rest = std::string_view(p, static_cast<std::size_t>(end - p));
  return true;
}

}  // namespace

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::query: return "query";
    case Scope::documents_read: return "documents:read";
    case Scope::documents_write: return "documents:write";
    case Scope::admin: return "admin";
  }
  return "?";
}

Result<Scopes> parse_scopes(std::string_view list) {
  Scopes out = 0;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view name = trim(list.substr(0, comma));
    bool known = false;
    for (Scope s : kScopes) {
      if (name == scope_name(s)) {
        out |= bit(s);
        known = true;
      }
    }
    if (!known) {
      return bad("unknown scope '" + std::string(name) +
                 "': the scopes are query, documents:read, documents:write and admin");
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_scopes(Scopes set) {
  std::string out;
  for (Scope s : kScopes) {
    if (!has_scope(set, s)) continue;
    if (!out.empty()) out += ',';
    out += scope_name(s);
  }
  return out;
}

std::string_view ApiKey::refusal(std::int64_t now_ms) const {
  if (revoked_ms != 0) return "revoked";
  if (expires_ms != 0 && now_ms >= expires_ms) return "expired";
  return {};
}

Result<std::int64_t> parse_lifetime_ms(std::string_view text) {
  double n = 0;
  std::string_view unit;
  const std::string message = "a lifetime is a number and a unit: 30d, 12h, 90m or 45s; got '" + std::string(text) + "'";
  if (!leading_number(text, n, unit) || n <= 0) return bad(message);
  double ms = 0;
  if (unit == "d") ms = n * 86400000.0;
  else if (unit == "h") ms = n * 3600000.0;
  else if (unit == "m") ms = n * 60000.0;
  else if (unit == "s") ms = n * 1000.0;
  else return bad(message);
  if (ms < 1000 || ms > 3650.0 * 86400000.0) return bad("a lifetime must be 1 s to 3650 d; got '" + std::string(text) + "'");
  return static_cast<std::int64_t>(ms);
}

Result<double> parse_rate(std::string_view text) {
  double n = 0;
  std::string_view unit;
  const std::string message = "a rate is requests per unit: 50/s, 600/m or 10000/h; got '" + std::string(text) + "'";
  if (!leading_number(text, n, unit) || n <= 0) return bad(message);
  double per_second = 0;
  if (unit == "/s") per_second = n;
  else if (unit == "/m") per_second = n / 60.0;
  else if (unit == "/h") per_second = n / 3600.0;
  else return bad(message);
  if (per_second > 1e6) return bad("a rate must be at most 1000000/s; got '" + std::string(text) + "'");
  return per_second;
}

Result<ApiKey> parse_key_request(const KeyRequest& request, std::int64_t now_ms) {
  ApiKey k;
  if (!redis::valid_tenant(request.tenant)) return bad("'tenant' " + std::string(redis::kTenantRule));
  k.tenant = request.tenant;
  std::size_t chars = 0;
  for (unsigned char c : request.name) {
    if (c < 0x20 || c == 0x7f) return bad("'name' contains control characters");
    chars += (c & 0xC0) != 0x80;
  }
  if (chars == 0 || chars > 64) return bad("'name' must be 1 to 64 characters");
  k.name = request.name;
  auto scopes = parse_scopes(request.scopes);
  if (!scopes) return make_error(Errc::bad_request, "'scopes': " + scopes.error().message);
  k.scopes = *scopes;
  if (!request.expires.empty()) {
    auto lifetime = parse_lifetime_ms(request.expires);
    if (!lifetime) return make_error(Errc::bad_request, "'expires': " + lifetime.error().message);
    k.expires_ms = now_ms + *lifetime;
  }
  if (!request.rate.empty()) {
    auto rate = parse_rate(request.rate);
    if (!rate) return make_error(Errc::bad_request, "'rate': " + rate.error().message);
    k.rate_per_second = *rate;
    k.rate_burst = std::max(1, static_cast<int>(std::ceil(*rate)));
  }
  return k;
}

nlohmann::json key_json(const ApiKey& key, std::int64_t now_ms) {
  using nlohmann::json;
  auto time = [](std::int64_t ms) { return ms == 0 ? json(nullptr) : json(ms); };
  json scopes = json::array();
  for (Scope s : kScopes) {
    if (has_scope(key.scopes, s)) scopes.push_back(std::string(scope_name(s)));
  }
  const std::string_view refused = key.refusal(now_ms);
  json j = {{"id", key.id},
            {"name", key.name},
            {"tenant", key.tenant},
            {"scopes", std::move(scopes)},
            {"status", refused.empty() ? "active" : std::string(refused)},
            {"created_ms", time(key.created_ms)},
            {"expires_ms", time(key.expires_ms)},
            {"revoked_ms", time(key.revoked_ms)},
            {"last_used_ms", time(key.last_used_ms)},
            {"rate_limit", nullptr}};
  if (key.rate_per_second > 0) {
    j["rate_limit"] = {{"requests_per_second", key.rate_per_second}, {"burst", key.rate_burst}};
  }
  return j;
}

std::string new_key_secret() { return "ragd_" + random_id(); }

std::string new_key_id() { return "key_" + random_id().substr(0, 16); }

}  // namespace ragd::auth
