// Entries of the replication stream (another replica's upserts and deletes) on arbitrary
// bytes. A decoded entry encodes to JSON that decodes to the same entry.
#include "ragd/replication/ingest_entry.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ragd::replication;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto e = decode_entry(json);
  if (!e) return 0;
  auto again = decode_entry(encode_entry(*e));
  if (!again || again->op != e->op || again->doc_id != e->doc_id || again->token != e->token ||
      again->origin != e->origin || again->documents.size() != e->documents.size())
    __builtin_trap();
  for (std::size_t i = 0; i < e->documents.size(); ++i) {
    const auto& a = e->documents[i];
    const auto& b = again->documents[i];
    if (a.id != b.id || a.title != b.title || a.text != b.text || a.metadata != b.metadata) __builtin_trap();
  }
  return 0;
}
