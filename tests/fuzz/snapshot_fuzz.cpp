// Index snapshots (the file a gateway loads at start) on arbitrary bytes. The input is the
// snapshot without its trailer (CRC-32 of what precedes it, then the end marker), which the
// target appends, so the fuzzer explores the decoder past the checksum; the raw input is
// decoded too. A decoded snapshot encodes to
// bytes that decode to the same counts.
#include "ragd/retrieval/snapshot.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ragd::retrieval;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)decode_snapshot(bytes);

  uLong crc = crc32_z(crc32_z(0L, Z_NULL, 0), data, size);
  const auto crc32 = static_cast<std::uint32_t>(crc);
  char tail[sizeof crc32];
  std::memcpy(tail, &crc32, sizeof crc32);
  bytes.append(tail, sizeof tail);
  bytes.append("PANSDGAR", 8);  // the end marker
  auto s = decode_snapshot(bytes);
  if (!s) return 0;
  auto again = decode_snapshot(encode_snapshot(*s));
  if (!again || again->dim != s->dim || again->tenants.size() != s->tenants.size()) __builtin_trap();
  for (std::size_t i = 0; i < s->tenants.size(); ++i) {
    const auto& a = again->tenants[i];
    const auto& b = s->tenants[i];
    if (a.tenant != b.tenant || a.chunks.size() != b.chunks.size() || a.documents.size() != b.documents.size() ||
        a.vectors.size() != b.vectors.size() || a.index_version != b.index_version)
      __builtin_trap();
  }
  return 0;
}
