// Token buckets in Redis hashes `<prefix>t:<tenant>:ratelimit:{<bucket>}` {tokens, ts}. Redis's own
// clock (TIME) is used, so replicas with skewed clocks agree; Redis 5+ replicates the
// script's effects, not the script, so TIME inside it is safe.
#include "ragd/http/rate_limiter.hpp"

#include "ragd/redis/client.hpp"
#include "ragd/redis/tenant_keys.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace ragd::http {

namespace asio = boost::asio;

namespace {

// KEYS[1] bucket; ARGV: rate (tokens per second), burst. Returns {allowed, retry_after_ms}.
constexpr const char* kTokenBucketScript = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
)lua";

int burst_of(const RateLimitConfig& c) {
  if (c.burst > 0) return c.burst;
  return std::max(1, static_cast<int>(std::ceil(c.requests_per_second)));
}

}  // namespace

RateLimiter::RateLimiter(redis::Client& redis, const AuthConfig& config, std::string key_prefix)
    : redis_(redis), key_prefix_(std::move(key_prefix)), default_(config.rate_limit) {}

asio::awaitable<RateDecision> RateLimiter::acquire(std::string tenant, std::string bucket_id,
                                                   RateLimitConfig limit) const {
  if (limit.requests_per_second <= 0) co_return RateDecision{};
  const std::string bucket = redis::tenant_key(key_prefix_, tenant, "ratelimit", bucket_id);
  redis::Command cmd = redis::make_command("EVAL", kTokenBucketScript, 1, bucket,
                                           std::to_string(limit.requests_per_second), burst_of(limit));
  auto r = co_await redis_.command(std::move(cmd));
  if (!r || r->is_error() || !r->is_array() || r->elements.size() != 2) {
    spdlog::debug("rate limit check skipped: {}", r ? r->str : log_text(r.error()));
    co_return RateDecision{};
  }
  RateDecision d;
  d.allowed = r->elements[0].as_integer().value_or(1) == 1;
  d.retry_after_ms = r->elements[1].as_integer().value_or(0);
  co_return d;
}

}  // namespace ragd::http
