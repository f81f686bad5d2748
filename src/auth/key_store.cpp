#include "ragd/auth/key_store.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"

#include <algorithm>
#include <charconv>

namespace ragd::auth {

namespace asio = boost::asio;

namespace {

// KEYS[1] record, KEYS[2] index; ARGV[1] id, ARGV[2] digest, then field/value pairs.
constexpr const char* kCreateScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
)lua";

// KEYS[1] record; ARGV[1] now. Returns the record's fields, marking a usable key used.
constexpr const char* kFindScript = R"lua(
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return h end
local revoked = tonumber(redis.call('HGET', KEYS[1], 'revoked_ms')) or 0
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_ms')) or 0
if revoked == 0 and (expires == 0 or expires > tonumber(ARGV[1])) then
  redis.call('HSET', KEYS[1], 'last_used_ms', ARGV[1])
end
return h
)lua";

// KEYS[1] record; ARGV[1] now. Sets revoked_ms once; returns the record's fields.
constexpr const char* kRevokeScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if (tonumber(redis.call('HGET', KEYS[1], 'revoked_ms')) or 0) == 0 then
  redis.call('HSET', KEYS[1], 'revoked_ms', ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
)lua";

std::int64_t to_int(const std::string& s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The shortest text that reads back as the same double.
std::string shortest(double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, p) : std::string("0");
}

double to_double(const std::string& s) {
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

Scopes scopes_or_none(const std::string& text) {
  auto s = parse_scopes(text);
  return s ? *s : Scopes{0};
}

// A record from HGETALL's flat field/value array; nullopt when empty or malformed.
std::optional<ApiKey> decode(const redis::Reply& r, std::string sha256) {
  if (!r.is_array() || r.elements.empty()) return std::nullopt;
  ApiKey k;
  k.sha256 = std::move(sha256);
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const std::string field = r.elements[i].as_string().value_or("");
    std::string value = r.elements[i + 1].as_string().value_or("");
    if (field == "id") k.id = std::move(value);
    else if (field == "name") k.name = std::move(value);
    else if (field == "tenant") k.tenant = std::move(value);
    else if (field == "scopes") k.scopes = scopes_or_none(value);
    else if (field == "created_ms") k.created_ms = to_int(value);
    else if (field == "expires_ms") k.expires_ms = to_int(value);
    else if (field == "revoked_ms") k.revoked_ms = to_int(value);
    else if (field == "last_used_ms") k.last_used_ms = to_int(value);
    else if (field == "rate_per_second") k.rate_per_second = to_double(value);
    else if (field == "rate_burst") k.rate_burst = static_cast<int>(to_int(value));
  }
  // A record without an id or tenant was not written by create(): refuse it.
  if (k.id.empty() || k.tenant.empty()) return std::nullopt;
  return k;
}

}  // namespace

KeyStore::KeyStore(redis::Client& redis, std::string key_prefix) : redis_(redis), prefix_(std::move(key_prefix)) {}

asio::awaitable<Result<CreatedKey>> KeyStore::create(ApiKey spec) {
  CreatedKey out;
  out.secret = new_key_secret();
  out.record = std::move(spec);
  out.record.id = new_key_id();
  out.record.sha256 = sha256_hex(out.secret);
  out.record.created_ms = unix_ms();
  out.record.revoked_ms = 0;
  out.record.last_used_ms = 0;
  const ApiKey& k = out.record;
  redis::Command cmd = redis::make_command(
      "EVAL", kCreateScript, 2, record_key(k.sha256), index_key(), k.id, k.sha256, "id", k.id, "name", k.name,
      "tenant", k.tenant, "scopes", format_scopes(k.scopes), "created_ms", k.created_ms, "expires_ms", k.expires_ms,
      "revoked_ms", 0, "last_used_ms", 0, "rate_per_second", shortest(k.rate_per_second), "rate_burst",
      k.rate_burst);
  auto r = co_await redis_.command(std::move(cmd));
  if (!r) co_return r.error();
  if (r->is_error()) co_return make_error(Errc::upstream_error, "key store: Redis answered an error", r->str);
  // 128 random bits collided with an existing key or id: astronomically unlikely; refuse.
  if (r->as_integer().value_or(0) != 1) co_return make_error(Errc::internal, "key id or digest already in use");
  co_return out;
}

asio::awaitable<Result<std::vector<ApiKey>>> KeyStore::list(std::string tenant) {
  redis::Command all{"HGETALL", index_key()};
  auto index = co_await redis_.command(std::move(all));
  if (!index) co_return index.error();
  if (index->is_error()) co_return make_error(Errc::upstream_error, "key store: Redis answered an error", index->str);
  std::vector<std::string> digests;
  std::vector<redis::Command> reads;
  for (std::size_t i = 0; i + 1 < index->elements.size(); i += 2) {
    digests.push_back(index->elements[i + 1].as_string().value_or(""));
    reads.push_back({"HGETALL", record_key(digests.back())});
  }
  std::vector<ApiKey> out;
  if (reads.empty()) co_return out;
  auto records = co_await redis_.pipeline(std::move(reads));
  if (!records) co_return records.error();
  for (std::size_t i = 0; i < records->size() && i < digests.size(); ++i) {
    auto k = decode((*records)[i], digests[i]);
    if (k && (tenant.empty() || k->tenant == tenant)) out.push_back(std::move(*k));
  }
  std::sort(out.begin(), out.end(), [](const ApiKey& a, const ApiKey& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
  });
  co_return out;
}

asio::awaitable<Result<std::optional<ApiKey>>> KeyStore::revoke(std::string id) {
  redis::Command get{"HGET", index_key(), id};
  auto digest = co_await redis_.command(std::move(get));
  if (!digest) co_return digest.error();
  auto sha = digest->as_string();
  if (!sha) co_return std::optional<ApiKey>();
  redis::Command cmd = redis::make_command("EVAL", kRevokeScript, 1, record_key(*sha), unix_ms());
  auto r = co_await redis_.command(std::move(cmd));
  if (!r) co_return r.error();
  if (r->is_error()) co_return make_error(Errc::upstream_error, "key store: Redis answered an error", r->str);
  co_return decode(*r, *sha);
}

asio::awaitable<Result<std::optional<ApiKey>>> KeyStore::find(std::string sha256) {
  redis::Command cmd = redis::make_command("EVAL", kFindScript, 1, record_key(sha256), unix_ms());
  auto r = co_await redis_.command(std::move(cmd));
  if (!r) co_return r.error();
  if (r->is_error()) co_return make_error(Errc::upstream_error, "key store: Redis answered an error", r->str);
  co_return decode(*r, std::move(sha256));
}

}  // namespace ragd::auth
