// ASCII character tests without the C library's locale lookups (a call per byte in
// std::tolower / std::isalnum showed up on the request path). Bytes >= 0x80 are never
// letters or digits here.
#pragma once

namespace ragd {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool ascii_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace ragd
