#include "keys_handler.hpp"

#include "ragd/auth/key_store.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/log/log.hpp"
#include "ragd/redis/tenant_keys.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace ragd::http {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

Response key_store_error(const Error& e) {
  Response r = Response::error(make_error(Errc::unavailable, "the key store (Redis) cannot be reached; retry later"));
  r.cause = log_text(e);
  return r;
}

// The create body's fields as typed: strings, and `scopes` also as an array of names.
Result<auth::KeyRequest> parse_create_body(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("request body must be a JSON object");
  auth::KeyRequest k;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    std::string* into = name == "tenant"    ? &k.tenant
                        : name == "name"    ? &k.name
                        : name == "scopes"  ? &k.scopes
                        : name == "expires" ? &k.expires
                        : name == "rate"    ? &k.rate
                                            : nullptr;
    if (into == nullptr) return bad("unknown field '" + name + "'");
    if (it->is_null()) continue;
    if (name == "scopes" && it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_string()) return bad("'scopes' must be an array of scope names");
        if (!into->empty()) *into += ',';
        *into += s.get<std::string>();
      }
      continue;
    }
    if (!it->is_string()) return bad("'" + name + "' must be a string");
    *into = it->get<std::string>();
  }
  if (k.tenant.empty()) return bad("'tenant' is required");
  if (k.scopes.empty()) return bad("'scopes' is required: query, documents:read, documents:write, admin");
  if (k.name.empty()) return bad("'name' is required");
  return k;
}

}  // namespace

asio::awaitable<Response> KeysHandler::create(Request req, Principal caller) {
  if (!has_json_content_type(req)) {
    co_return Response::error(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto typed = parse_create_body(req.body);
  if (!typed) co_return Response::error(typed.error());
  auto spec = auth::parse_key_request(*typed, unix_ms());
  if (!spec) co_return Response::error(spec.error());
  auto created = co_await store_.create(std::move(*spec));
  if (!created) co_return key_store_error(created.error());
  const auth::ApiKey& k = created->record;
  spdlog::info("audit: api key created key={} tenant={} name={} scopes={} expires_ms={} by_key={} req_id={}", k.id,
               k.tenant, log::field(k.name), auth::format_scopes(k.scopes), k.expires_ms, caller.key_id,
               req.request_id);
  json out = auth::key_json(k, unix_ms());
  out["key"] = created->secret;
  co_return Response::json(201, out.dump());
}

asio::awaitable<Response> KeysHandler::list(Request req, Principal) {
  const std::string tenant(query_value(req.query, "tenant").value_or(""));
  if (!tenant.empty() && !redis::valid_tenant(tenant)) {
    co_return Response::error(bad("'tenant' " + std::string(redis::kTenantRule)));
  }
  auto keys = co_await store_.list(tenant);
  if (!keys) co_return key_store_error(keys.error());
  json out = {{"keys", json::array()}};
  const std::int64_t now = unix_ms();
  for (const auto& k : *keys) out["keys"].push_back(auth::key_json(k, now));
  co_return Response::json(200, out.dump(-1, ' ', false, json::error_handler_t::replace));
}

asio::awaitable<Response> KeysHandler::revoke(Request req, Principal caller) {
  const std::string id = req.path_params.empty() ? std::string() : req.path_params[0];
  auto revoked = co_await store_.revoke(id);
  if (!revoked) co_return key_store_error(revoked.error());
  if (!*revoked) co_return Response::error(make_error(Errc::not_found, "no API key with id '" + id + "'"));
  const auth::ApiKey& k = **revoked;
  spdlog::info("audit: api key revoked key={} tenant={} by_key={} req_id={}", k.id, k.tenant, caller.key_id,
               req.request_id);
  co_return Response::json(200, auth::key_json(k, unix_ms()).dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace ragd::http
