#include "ragd/http/auth.hpp"

#include "ragd/auth/key_store.hpp"
#include "ragd/core/ascii.hpp"
#include "ragd/core/ids.hpp"

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

ApiKeyAuth::ApiKeyAuth(const AuthConfig& config, auth::KeyStore* store)
    : store_(store),
      cache_ms_(config.key_cache_ms),
      enabled_(config.required || !config.api_keys.empty()),
      remembered_({100000, 32u << 20, 16}) {
  for (std::size_t i = 0; i < config.api_keys.size(); ++i) {
    const auto& k = config.api_keys[i];
    std::string scopes;
    for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : ",") + s;
    Principal p;
    p.tenant = k.tenant;
    p.key_id = "config:" + (k.name.empty() ? "#" + std::to_string(i) : k.name);
    auto parsed = auth::parse_scopes(scopes);  // validated with the config
    p.scopes = parsed ? *parsed : auth::Scopes{0};
    p.rate_limit = k.rate_limit;
    p.bucket = ascii_lowercase(k.sha256);
    keys_.push_back({ascii_lowercase(k.sha256), std::move(p)});
  }
}

Principal ApiKeyAuth::anonymous() {
  Principal p;
  p.scopes = auth::kAllScopes & ~auth::bit(auth::Scope::admin);
  return p;
}

std::optional<Result<Principal>> ApiKeyAuth::resolve_now(const std::string& sha256) const {
  const ConfigKey* found = nullptr;
  // Visit every key whatever matches, so timing does not tell which prefix was right.
  for (const auto& k : keys_) {
    if (constant_time_equal(sha256, k.sha256) && !found) found = &k;
  }
  if (found) return Result<Principal>(found->principal);
  if (store_ == nullptr) return Result<Principal>(make_error(Errc::unauthorized, "invalid API key"));
  if (cache_ms_ <= 0) return std::nullopt;
  const std::int64_t now = unix_ms();
  auto e = remembered_.get(sha256, now);
  if (!e || e->fresh_until_ms <= now) return std::nullopt;
  return judge(e->key, now);
}

boost::asio::awaitable<Result<Principal>> ApiKeyAuth::resolve(std::string sha256) const {
  auto found = co_await store_->find(sha256);
  if (!found) {
    co_return make_error(Errc::unavailable, "API keys cannot be checked now (the key store is unreachable); retry later");
  }
  const std::int64_t now = unix_ms();
  if (cache_ms_ > 0) {
    auto e = std::make_shared<Remembered>();
    e->key = *found;
    e->fresh_until_ms = e->stale_until_ms = now + cache_ms_;
    remembered_.put(sha256, std::move(e));
  }
  co_return judge(*found, now);
}

Result<Principal> ApiKeyAuth::judge(const std::optional<auth::ApiKey>& key, std::int64_t now_ms) const {
  if (!key) return make_error(Errc::unauthorized, "invalid API key");
  if (const std::string_view why = key->refusal(now_ms); !why.empty()) {
    return make_error(Errc::unauthorized, "this API key is " + std::string(why));
  }
  Principal p;
  p.tenant = key->tenant;
  p.key_id = key->id;
  p.scopes = key->scopes;
  if (key->rate_per_second > 0) p.rate_limit = RateLimitConfig{key->rate_per_second, key->rate_burst};
  p.bucket = key->id;
  return p;
}

}  // namespace ragd::http
