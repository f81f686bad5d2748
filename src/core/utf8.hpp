// UTF-8 validation shared by the JSON writer and reader (private to core).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ragd::detail {

// Length of the valid UTF-8 multi-byte sequence starting at s[i] (2..4), or 0 when it is not
// one (overlong forms, surrogates and code points past U+10FFFF are invalid, as in RFC 3629).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// Length of the prefix of s[i..] made of bytes a JSON string holds as they are: printable
// ASCII other than '"' and '\\'. Sixteen or eight bytes at a time (prompts and passages are
// mostly such text), then byte by byte within the word that holds the first other byte.
inline std::size_t plain_json_run(std::string_view s, std::size_t i) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  // Whether some byte of w is below n (exact for n <= 128; from "Bit Twiddling Hacks").
  const auto has_less = [](std::uint64_t w, std::uint64_t n) { return ((w - kOnes * n) & ~w & kHigh) != 0; };
  const std::size_t start = i;
#if defined(__SSE2__)
  // Sixteen bytes at a time where SSE2 is there (every x86-64): one signed compare finds both
  // control bytes and bytes >= 0x80 (negative as signed), two more the quote and backslash,
  // and the mask's lowest bit is the first byte that ends the run.
  const __m128i below_space = _mm_set1_epi8(0x20);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (s.size() - i >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i stop = _mm_or_si128(_mm_cmpgt_epi8(below_space, v),
                                      _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (const int mask = _mm_movemask_epi8(stop); mask != 0) {
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask))) - start;
    }
    i += 16;
  }
#endif
  while (s.size() - i >= 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if ((w & kHigh) != 0 || has_less(w, 0x20) || has_less(w ^ (kOnes * '"'), 1) ||
        has_less(w ^ (kOnes * '\\'), 1)) {
      break;
    }
    i += 8;
  }
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
    ++i;
  }
  return i - start;
}

}  // namespace ragd::detail
