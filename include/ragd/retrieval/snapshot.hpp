// Snapshot files: the corpora of every tenant (chunk stores and vectors) on disk, so a
// restart does not need the documents again. The file is binary, little-endian; format 2:
//
//   header   "RAGDSNAP", u32 format version (2), u32 dim, u32 embedder version, u32 flags,
//            then, when flags bit 0 is set, the replication position: stream id (u32 length
//            + bytes) and u64 sequence (one position for all tenants: the ingest stream is
//            one); then, when flags bit 2 is set, the identity of the text analyser the file
//            was indexed with (a string, e.g. "english+stop/2": TextAnalyzer::identity());
//            then the index description (string, e.g. "hnsw m=32 ef_construction=64") and
//            u64 tenant count (other flag bits must be 0)
//   tenants  tenant count sections, in tenant order, each: the tenant (string), u64 index
//            version, u64 next chunk key, u64 document count and that many records of id,
//            title, metadata and text (strings as ingested, in id order), u64 chunk count
//            and that many chunk records, in document order: i64 key, i32 position,
//            u64 offset, then doc_id, chunk_id, title and text (each u32 length + bytes),
//            then dim f32
//   trailer  u32 CRC-32 (zlib's) of every byte before it, then "PANSDGAR"
//
// Format 1 (before tenants) is still read, as the tenant "default" (redis::kDefaultTenant):
// header as above up to the flags, then u64 index version, u64 next chunk key, u64 chunk
// count, the optional position and analyser, then, when flags bit 1 is set, the index
// description and the document records, then the chunk records. Files are always written
// in format 2.
//
// The doc id -> chunks map is rebuilt from the records; the BM25 index is rebuilt from the
// texts (tokenising is cheaper than storing postings, and keeps one source of truth), with
// the running analyser. The built-in hash embedder's vectors depend on the analyser too:
// when the recorded one differs from the running one (a file without the field was made by
// kLegacyAnalyzerIdentity), the loader re-embeds the texts.
// Vectors are stored, not recomputed: when the stored dim or embedder version differ from
// the running embedder's, the loader re-embeds the texts instead. The FAISS index itself is
// not stored: the loader rebuilds it from the vectors, whatever kind the file was made
// with (the description is recorded for the log). Format 1 files without documents (the
// oldest) load too; their document texts are pieced together from the chunks.
//
// write_file_atomically() gives crash safety: it writes `<path>.tmp`, fsyncs it, renames it
// over `path` and fsyncs the directory, so after a crash at any point `path` holds the old
// snapshot or the new one, never a mix. A stale `.tmp` left by a crash is overwritten by
// the next save and never read.
//
// Pure encoding and decoding plus file I/O on the calling thread; no shared state.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/document.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

inline constexpr std::uint32_t kSnapshotFormatVersion = 2;

// One tenant's corpus in a snapshot.
struct TenantSnapshot {
  std::string tenant;
  std::uint64_t index_version = 0;
  std::int64_t next_chunk_key = 1;
  std::vector<StoredDocument> documents;  // `chunks` counts are not stored
  std::vector<Chunk> chunks;
  std::vector<float> vectors;  // chunks.size() * dim, row i belongs to chunks[i]
};

struct SnapshotData {
  std::uint32_t dim = 0;
  std::uint32_t embedder_version = 0;
  std::string replication_stream_id;  // "" = none (flags bit 0 clear)
  std::uint64_t replication_sequence = 0;
  std::string analyzer;           // TextAnalyzer::identity(); "" = not recorded (flags bit 2 clear)
  std::string index_description;  // VectorIndex::describe() of the index that saved it; "" in old files
  std::vector<TenantSnapshot> tenants;  // in tenant order, each tenant once

  std::size_t chunk_count() const;
  std::size_t document_count() const;
};

std::string encode_snapshot(const SnapshotData& data);

// Errc::internal naming what is wrong (bad magic, unsupported version, truncated,
// checksum mismatch) for anything but a complete, intact snapshot.
Result<SnapshotData> decode_snapshot(std::string_view bytes);

// Errc::not_found when the file does not exist; otherwise as decode_snapshot().
Result<SnapshotData> read_snapshot_file(const std::string& path);

// Writes `bytes` to `path` through `<path>.tmp`, fsync and rename (see above).
Result<void> write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace ragd::retrieval
