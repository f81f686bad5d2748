// A snapshot file in format 1, the format before tenants (snapshot.hpp), written byte by
// byte as that format's writer wrote it: one corpus, a replication position, documents.
#pragma once

#include "ragd/retrieval/document.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ragd::test {

struct Format1Corpus {
  std::uint32_t dim = 4;
  std::uint64_t index_version = 0;
  std::string stream_id;  // "" = no position
  std::uint64_t sequence = 0;
  std::vector<retrieval::StoredDocument> documents;
  std::vector<retrieval::Chunk> chunks;  // each gets the vector (1, 0, 0, ...)
};

inline std::string format1_snapshot(const Format1Corpus& c) {
  std::string out("RAGDSNAP");
  auto put = [&](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto put_string = [&](const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    out += s;
  };
  put(std::uint32_t{1});
  put(c.dim);
  put(std::uint32_t{0});  // embedder version
  put(std::uint32_t{(c.stream_id.empty() ? 0u : 1u) | 2u});  // flags: position, documents
  put(c.index_version);
  std::int64_t next_key = 1;
  for (const auto& ch : c.chunks) next_key = std::max(next_key, ch.id + 1);
  put(next_key);
  put(static_cast<std::uint64_t>(c.chunks.size()));
  if (!c.stream_id.empty()) {
    put_string(c.stream_id);
    put(c.sequence);
  }
  put_string("flat");
  put(static_cast<std::uint64_t>(c.documents.size()));
  for (const auto& d : c.documents) {
    put_string(d.id);
    put_string(d.title);
    put_string(d.metadata);
    put_string(d.text);
  }
  for (const auto& ch : c.chunks) {
    put(ch.id);
    put(static_cast<std::int32_t>(ch.position));
    put(static_cast<std::uint64_t>(ch.offset));
    put_string(ch.doc_id);
    put_string(ch.chunk_id);
    put_string(ch.title);
    put_string(ch.text);
    for (std::uint32_t i = 0; i < c.dim; ++i) put(i == 0 ? 1.0f : 0.0f);
  }
  const auto crc = static_cast<std::uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()), out.size()));
  put(crc);
  out += "PANSDGAR";
  return out;
}

}  // namespace ragd::test
