#include "ragd/core/base64.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <limits>

namespace ragd {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}
constexpr auto kDecode = make_decode_table();

static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559, "float32 is IEEE 754 binary32");

std::uint32_t byteswap32(std::uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (rest == 2) v |= std::uint32_t{p[i + 1]} << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::size_t> base64_decoded_size(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return 0;
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  return text.size() / 4 * 3 - pad;
}

bool base64_decode(std::string_view text, std::span<std::uint8_t> out) {
  const auto size = base64_decoded_size(text);
  if (!size || *size != out.size()) return false;
  if (text.empty()) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::uint8_t* o = out.data();
  // Every group but the last has no padding: four table entries, checked at once (valid
  // entries are 0..63, so an invalid one's 0xff shows in bits 6-7 of their OR).
  const std::size_t last = text.size() - 4;
  for (std::size_t i = 0; i < last; i += 4, o += 3) {
    const std::uint32_t v = (std::uint32_t{kDecode[p[i]]} << 18) | (std::uint32_t{kDecode[p[i + 1]]} << 12) |
                            (std::uint32_t{kDecode[p[i + 2]]} << 6) | kDecode[p[i + 3]];
    const std::uint32_t invalid = kDecode[p[i]] | kDecode[p[i + 1]] | kDecode[p[i + 2]] | kDecode[p[i + 3]];
    if ((invalid & 0xc0u) != 0) return false;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
  }
  const std::uint8_t a = kDecode[p[last]], b = kDecode[p[last + 1]];
  const bool pad2 = p[last + 2] == '=';
  const bool pad3 = p[last + 3] == '=';
  const std::uint8_t c = pad2 ? 0 : kDecode[p[last + 2]];
  const std::uint8_t d = pad3 ? 0 : kDecode[p[last + 3]];
  if (a == kInvalid || b == kInvalid || c == kInvalid || d == kInvalid || (pad2 && !pad3)) return false;
  const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
  o[0] = static_cast<std::uint8_t>(v >> 16);
  if (!pad2) o[1] = static_cast<std::uint8_t>(v >> 8);
  if (!pad3) o[2] = static_cast<std::uint8_t>(v);
  return true;
}

bool base64_decode_floats(std::string_view text, std::span<float> out) {
  const std::span<std::uint8_t> bytes(reinterpret_cast<std::uint8_t*>(out.data()), out.size_bytes());
  if (!base64_decode(text, bytes)) return false;
  if constexpr (std::endian::native == std::endian::big) {
    for (float& f : out) {
      std::uint32_t v;
      std::memcpy(&v, &f, 4);
      v = byteswap32(v);
      std::memcpy(&f, &v, 4);
    }
  }
  return true;
}

std::string base64_encode_floats(std::span<const float> values) {
  std::string bytes(values.size_bytes(), '\0');
  std::memcpy(bytes.data(), values.data(), values.size_bytes());
  if constexpr (std::endian::native == std::endian::big) {
    for (std::size_t i = 0; i < bytes.size(); i += 4) {
      std::uint32_t v;
      std::memcpy(&v, bytes.data() + i, 4);
      v = byteswap32(v);
      std::memcpy(bytes.data() + i, &v, 4);
    }
  }
  return base64_encode(bytes);
}

}  // namespace ragd
