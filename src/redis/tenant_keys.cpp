#include "ragd/redis/tenant_keys.hpp"

#include "ragd/core/ascii.hpp"

namespace ragd::redis {

bool valid_tenant(std::string_view tenant) noexcept {
  if (tenant.empty() || tenant.size() > 64) return false;
  for (char c : tenant) {
    if (!ascii_alnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

std::string tenant_key(std::string_view key_prefix, std::string_view tenant, std::string_view kind,
                       std::string_view id) {
  std::string out;
  out.reserve(key_prefix.size() + tenant.size() + kind.size() + id.size() + 8);
  out.append(key_prefix).append("t:").append(tenant).append(":").append(kind).append(":{").append(id).append("}");
  return out;
}

}  // namespace ragd::redis
