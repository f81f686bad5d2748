#include "ragd/core/base64.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragd {
namespace {

std::string decode(std::string_view text) {
  const auto size = base64_decoded_size(text);
  if (!size) return "<bad size>";
  std::vector<std::uint8_t> out(*size);
  if (!base64_decode(text, out)) return "<bad text>";
  return std::string(out.begin(), out.end());
}

// RFC 4648, section 10.
const std::pair<std::string_view, std::string_view> kRfc4648[] = {
    {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesTheRfc4648TestVectors) {
  for (const auto& [plain, encoded] : kRfc4648) EXPECT_EQ(base64_encode(plain), encoded) << plain;
}

TEST(Base64, DecodesTheRfc4648TestVectors) {
  for (const auto& [plain, encoded] : kRfc4648) EXPECT_EQ(decode(encoded), plain) << encoded;
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t len = 0; len <= bytes.size(); len += 37) {
    const std::string part = bytes.substr(0, len);
    EXPECT_EQ(decode(base64_encode(part)), part) << "length " << len;
  }
  EXPECT_EQ(decode(base64_encode(bytes)), bytes);
}

TEST(Base64, RefusesMalformedText) {
  EXPECT_EQ(decode("Zm9"), "<bad size>");      // not a multiple of 4
  EXPECT_EQ(decode("Zm9v!A=="), "<bad text>");  // outside the alphabet
  EXPECT_EQ(decode("Zm=v"), "<bad text>");      // padding before a character
  EXPECT_EQ(decode("Zg==Zm9v"), "<bad text>");  // padding inside the text
  EXPECT_EQ(decode("====") , "<bad text>");
  EXPECT_EQ(decode("Zm9v\nYmFy"), "<bad size>");
  std::vector<std::uint8_t> out(2);  // "Zm9v" is 3 bytes
  EXPECT_FALSE(base64_decode("Zm9v", out));
}

TEST(Base64, FloatsTravelAsLittleEndianFloat32) {
  // 1.0f is 0x3f800000: bytes 00 00 80 3f little-endian.
  const std::vector<float> one{1.0f};
  EXPECT_EQ(base64_encode_floats(one), "AACAPw==");
  const std::vector<float> values{0.5f, -2.25f, 1e-30f, 3.4e38f, -0.0f, 0.1234567f};
  const std::string text = base64_encode_floats(values);
  std::vector<float> back(values.size());
  ASSERT_TRUE(base64_decode_floats(text, back));
  EXPECT_EQ(std::memcmp(back.data(), values.data(), values.size() * sizeof(float)), 0);
}

TEST(Base64, RefusesFloatsOfAnotherCount) {
  const std::vector<float> values{1.0f, 2.0f, 3.0f};
  const std::string text = base64_encode_floats(values);
  std::vector<float> two(2), four(4);
  EXPECT_FALSE(base64_decode_floats(text, two));
  EXPECT_FALSE(base64_decode_floats(text, four));
  EXPECT_FALSE(base64_decode_floats("AACAPw", two));
}

}  // namespace
}  // namespace ragd
