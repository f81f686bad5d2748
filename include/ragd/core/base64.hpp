// Base64 (RFC 4648, the standard alphabet with '=' padding) and the little-endian float32
// arrays that OpenAI-compatible embedding services send with encoding_format "base64":
// a quarter of the bytes of the decimal JSON array, and no number parsing.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ragd {

std::string base64_encode(std::string_view bytes);

// The number of bytes `text` decodes to; nullopt when its length is not a multiple of 4
// or its padding is malformed (the characters themselves are checked by base64_decode).
std::optional<std::size_t> base64_decoded_size(std::string_view text);

// Decodes `text` into `out`, which must hold exactly base64_decoded_size(text) bytes.
// False on a character outside the alphabet, misplaced padding or a size mismatch; `out`
// is then partly written.
bool base64_decode(std::string_view text, std::span<std::uint8_t> out);

// `text` as little-endian float32 values into `out`; false unless it is valid base64 of
// exactly out.size() floats.
bool base64_decode_floats(std::string_view text, std::span<float> out);

// `values` as little-endian float32 bytes, base64-encoded.
std::string base64_encode_floats(std::span<const float> values);

}  // namespace ragd
