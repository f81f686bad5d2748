// Where a tenant's state lives in Redis. Every key that belongs to one tenant is
// `<key_prefix>t:<tenant>:<kind>:...`, so a deployment's prefix separates deployments, the
// tenant's segment separates tenants, and `SCAN MATCH <key_prefix>t:<tenant>:*` finds all of
// one tenant's keys. Tenant names are restricted (valid_tenant) so that no tenant's segment
// can contain ':' and reach into another's. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ragd::redis {

// The tenant of every request while auth is off, and of data stored before tenants.
inline constexpr std::string_view kDefaultTenant = "default";

// 1 to 64 characters of A-Z a-z 0-9 '.' '_' '-'.
bool valid_tenant(std::string_view tenant) noexcept;
inline constexpr std::string_view kTenantRule = "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'";

// `<key_prefix>t:<tenant>:<kind>:{<id>}`. The braces make `id` the Redis Cluster hash tag,
// so keys derived from this one by a suffix (a session's `:n`) share its slot. `tenant`
// must be valid.
std::string tenant_key(std::string_view key_prefix, std::string_view tenant, std::string_view kind,
                       std::string_view id);

}  // namespace ragd::redis
