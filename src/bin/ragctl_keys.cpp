// `ragctl keys create --tenant T --scopes query,documents:write --name N [--expires 30d]
// [--rate 50/s]` prints the new key once (and its record with --json); `keys list
// [--tenant T]`; `keys revoke ID`. Straight to Redis through auth::KeyStore, the same
// records the gateways read.
#include "ragctl_keys.hpp"

#include "ragctl_redis.hpp"
#include "ragd/auth/key_store.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/redis/client.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

namespace ragctl {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

int usage_error(const std::string& message) {
  std::cerr << "ragctl: " << message << " (see --help)\n";
  return 2;
}

std::string when(std::int64_t ms) { return ms == 0 ? std::string("-") : std::to_string(ms); }

void print_table(const std::vector<ragd::auth::ApiKey>& keys) {
  const std::int64_t now = ragd::unix_ms();
  std::cout << "id\ttenant\tname\tscopes\tstatus\tcreated_ms\texpires_ms\tlast_used_ms\n";
  for (const auto& k : keys) {
    const std::string_view refused = k.refusal(now);
    std::cout << k.id << '\t' << k.tenant << '\t' << k.name << '\t' << ragd::auth::format_scopes(k.scopes) << '\t'
              << (refused.empty() ? "active" : refused) << '\t' << k.created_ms << '\t' << when(k.expires_ms) << '\t'
              << when(k.last_used_ms) << '\n';
  }
}

}  // namespace

int cmd_keys(const ragd::ParsedFlags& flags) {
  const auto& args = flags.positional;  // "keys", subcommand, ...
  if (args.size() < 2) return usage_error("keys needs create, list or revoke");
  const std::string& sub = args[1];
  const bool as_json = flags.has("json");
  std::optional<ragd::auth::ApiKey> spec;
  if (sub == "create") {
    ragd::auth::KeyRequest request{flags.get("tenant").value_or(""), flags.get("name").value_or(""),
                                   flags.get("scopes").value_or(""), flags.get("expires").value_or(""),
                                   flags.get("rate").value_or("")};
    if (request.tenant.empty() || request.scopes.empty() || request.name.empty()) {
      return usage_error("keys create needs --tenant, --scopes and --name");
    }
    auto parsed = ragd::auth::parse_key_request(request, ragd::unix_ms());
    if (!parsed) return usage_error(ragd::log_text(parsed.error()));
    spec = std::move(*parsed);
  } else if (sub == "revoke") {
    if (args.size() != 3) return usage_error("keys revoke needs one key id");
  } else if (sub != "list") {
    return usage_error("unknown keys command '" + sub + "'");
  }
  const ragd::RedisConfig config = redis_config_from(flags);
  return run_with_redis(config, "keys " + sub, [&](ragd::redis::Client& redis) -> asio::awaitable<int> {
    ragd::auth::KeyStore store(redis, config.key_prefix);
    if (sub == "create") {
      auto created = co_await store.create(*spec);
      if (!created) {
        std::cerr << "ragctl: " << ragd::log_text(created.error()) << "\n";
        co_return 1;
      }
      if (as_json) {
        json out = ragd::auth::key_json(created->record, ragd::unix_ms());
        out["key"] = created->secret;
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << created->secret << "\n";
        std::cerr << "created " << created->record.id << " for tenant " << created->record.tenant
                  << "; the key above is shown this once\n";
      }
      co_return 0;
    }
    if (sub == "list") {
      auto keys = co_await store.list(flags.get("tenant").value_or(""));
      if (!keys) {
        std::cerr << "ragctl: " << ragd::log_text(keys.error()) << "\n";
        co_return 1;
      }
      if (as_json) {
        json out = json::array();
        for (const auto& k : *keys) out.push_back(ragd::auth::key_json(k, ragd::unix_ms()));
        std::cout << out.dump(2) << "\n";
      } else {
        print_table(*keys);
      }
      co_return 0;
    }
    auto revoked = co_await store.revoke(args[2]);
    if (!revoked) {
      std::cerr << "ragctl: " << ragd::log_text(revoked.error()) << "\n";
      co_return 1;
    }
    if (!*revoked) {
      std::cerr << "ragctl: no API key with id '" << args[2] << "'\n";
      co_return 1;
    }
    std::cout << "revoked " << (*revoked)->id << " (tenant " << (*revoked)->tenant << ")\n";
    co_return 0;
  });
}

}  // namespace ragctl
