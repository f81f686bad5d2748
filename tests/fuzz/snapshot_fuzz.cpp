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
  if (!again || again->dim != s->dim || again->chunks.size() != s->chunks.size() ||
      again->documents.size() != s->documents.size() || again->vectors.size() != s->vectors.size() ||
      again->index_version != s->index_version)
    __builtin_trap();
  return 0;
}
