#include "ragd/http/auth.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/tenant_keys.hpp"

namespace ragd::http {

std::string_view presented_api_key(const Request& req) {
  std::string_view key = req.header("x-api-key");
  if (!key.empty()) return key;
  const std::string_view auth = req.header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (auth.size() > kBearer.size() && ascii_iequals(auth.substr(0, kBearer.size()), kBearer)) {
    return auth.substr(kBearer.size());
  }
  return {};
}

ApiKeyAuth::ApiKeyAuth(const AuthConfig& config) {
  for (const auto& k : config.api_keys) keys_.push_back({ascii_lowercase(k.sha256), k.tenant});
}

Result<std::string> ApiKeyAuth::authenticate(const Request& req) const {
  if (keys_.empty()) return std::string(redis::kDefaultTenant);
  const std::string_view key = presented_api_key(req);
  if (key.empty()) {
    return make_error(Errc::unauthorized,
                      "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'");
  }
  const std::string digest = sha256_hex(key);
  const Key* found = nullptr;
  // Visit every key whatever matches, so timing does not tell which prefix was right.
  for (const auto& k : keys_) {
    if (constant_time_equal(digest, k.sha256) && !found) found = &k;
  }
  if (!found) return make_error(Errc::unauthorized, "invalid API key");
  return found->tenant;
}

}  // namespace ragd::http
