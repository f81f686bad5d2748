// ASCII character tests and case folding without the C library's locale lookups (a call
// per byte in std::tolower / std::isalnum showed up on the request path). Bytes >= 0x80 are
// never letters or digits here, and case folding leaves them as they are: this is for
// protocol tokens (header names, schemes, media types, hex digests) and for the word keys
// of the text analysers, not for Unicode text. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

namespace ragd {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool ascii_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The value of a hexadecimal digit, or -1.
constexpr int ascii_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline void ascii_lowercase_in_place(std::string& s) {
  for (auto& c : s) c = ascii_lower(c);
}

inline std::string ascii_lowercase(std::string_view s) {
  std::string out(s);
  ascii_lowercase_in_place(out);
  return out;
}

// `s` equals `lower`, ignoring the case of ASCII letters in `s` (`lower` is lower-case).
constexpr bool ascii_iequals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (ascii_lower(s[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace ragd
