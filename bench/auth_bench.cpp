// auth-bench: what authenticating one request costs the gateway, in CPU time of this
// process, for each way a key is known:
//   auth-bench --redis redis://127.0.0.1:6379/15 [--iterations 1000000] [--config-keys 3]
// - auth off (the anonymous principal; the baseline),
// - a config-file key (SHA-256 of the key, constant-time compare with every config digest),
// - a Redis-kept key remembered by the gateway (SHA-256, compare, one LRU lookup),
// - a Redis-kept key read from Redis (auth.key_cache_ms 0: one EVAL round trip each; run
//   for iterations / 100).
// The key is created in the URL's database, which should be a scratch one.
#include "ragd/auth/key_store.hpp"
#include "process_clock.hpp"
#include "ragd/core/cli.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/http/auth.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <cstdio>
#include <future>
#include <string>

namespace {

namespace asio = boost::asio;
using ragd::http::ApiKeyAuth;

using bench::cpu_seconds;
using bench::run;

// CPU nanoseconds per call of `one`, which returns whether the key was accepted.
template <class F>
double ns_per_call(int n, F&& one) {
  int accepted = 0;
  const double t0 = cpu_seconds();
  for (int i = 0; i < n; ++i) accepted += one() ? 1 : 0;
  const double ns = (cpu_seconds() - t0) * 1e9 / n;
  if (accepted != n) std::fprintf(stderr, "only %d of %d calls accepted the key\n", accepted, n);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<ragd::FlagSpec> specs = {
      {"redis", true, "Redis URL (a scratch database)", "URL"},
      {"iterations", true, "calls per in-process figure (default 1000000)", "N"},
      {"config-keys", true, "keys in auth.api_keys (default 3)", "N"},
      {"help", false, "show this help"},
  };
  auto flags = ragd::parse_flags(argc, argv, specs);
  if (!flags || flags->has("help") || !flags->get("redis")) {
    std::fprintf(stderr, "usage: auth-bench --redis URL [--iterations N] [--config-keys N]\n%s",
                 ragd::flags_help(specs).c_str());
    return 2;
  }
  const int n = std::stoi(flags->get("iterations").value_or("1000000"));
  const int config_keys = std::stoi(flags->get("config-keys").value_or("3"));
  ragd::RedisConfig rc;
  rc.url = *flags->get("redis");
  rc.key_prefix = "auth-bench:";
  asio::io_context io;
  ragd::redis::Client redis(io.get_executor(), rc);
  ragd::auth::KeyStore store(redis, rc.key_prefix);
  ragd::auth::ApiKey spec;
  spec.tenant = "bench";
  spec.name = "bench";
  spec.scopes = ragd::auth::kAllScopes;
  auto created = run(io, store.create(spec));
  if (!created) {
    std::fprintf(stderr, "cannot create a key: %s\n", created.error().message.c_str());
    return 1;
  }
  const std::string redis_key = created->secret;

  ragd::AuthConfig cfg;
  for (int i = 0; i < config_keys; ++i) {
    ragd::ApiKeyConfig k;
    k.sha256 = ragd::sha256_hex("config-key-" + std::to_string(i));
    k.tenant = "t" + std::to_string(i);
    cfg.api_keys.push_back(k);
  }
  const std::string config_key = "config-key-" + std::to_string(config_keys - 1);
  ApiKeyAuth remembering(cfg, &store);
  ragd::AuthConfig uncached_cfg = cfg;
  uncached_cfg.key_cache_ms = 0;
  ApiKeyAuth uncached(uncached_cfg, &store);
  if (!run(io, remembering.resolve(ragd::sha256_hex(redis_key)))) return 1;

  const double off = ns_per_call(n, [] { return !ApiKeyAuth::anonymous().tenant.empty(); });
  const double config = ns_per_call(n, [&] {
    auto p = remembering.resolve_now(ragd::sha256_hex(config_key));
    return p && *p;
  });
  // Refreshed by the first call that finds the entry stale; the figure includes those.
  const double remembered = ns_per_call(n, [&] {
    const std::string digest = ragd::sha256_hex(redis_key);
    if (auto p = remembering.resolve_now(digest)) return static_cast<bool>(*p);
    return static_cast<bool>(run(io, remembering.resolve(digest)));
  });
  const int trips = std::max(1, n / 100);
  const double read = ns_per_call(trips, [&] {
    const std::string digest = ragd::sha256_hex(redis_key);
    if (auto p = uncached.resolve_now(digest)) return static_cast<bool>(*p);
    return static_cast<bool>(run(io, uncached.resolve(digest)));
  });
  std::printf("%-40s | %12s\n", "how the key is known", "CPU ns/request");
  std::printf("%-40s | %12.0f\n", "auth off (baseline)", off);
  std::printf("%-40s | %12.0f\n", ("config key (" + std::to_string(config_keys) + " listed)").c_str(), config);
  std::printf("%-40s | %12.0f\n", "Redis-kept key, remembered (500 ms)", remembered);
  std::printf("%-40s | %12.0f\n", "Redis-kept key, read from Redis", read);
  redis.close();
  return 0;
}
