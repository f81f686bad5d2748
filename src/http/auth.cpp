#include "ragd/http/auth.hpp"

#include "ragd/core/ids.hpp"

#include <algorithm>

namespace ragd::http {

ApiKeyAuth::ApiKeyAuth(const AuthConfig& config) {
  for (const auto& k : config.api_keys) {
    std::string h = k.sha256;
    std::transform(h.begin(), h.end(), h.begin(), ::tolower);
    keys_.push_back({std::move(h), k.tenant});
  }
}

Result<std::string> ApiKeyAuth::authenticate(const Request& req) const {
  if (keys_.empty()) return std::string("default");
  std::string_view key = req.header("x-api-key");
  if (key.empty()) {
    auto auth = req.header("authorization");
    constexpr std::string_view kBearer = "bearer ";
    if (auth.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      key = auth.substr(kBearer.size());
    }
  }
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
