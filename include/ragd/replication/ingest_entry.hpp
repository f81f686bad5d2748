// The entries of the ingest stream (`<redis.key_prefix>ingest`) that keeps gateway replicas
// on the same documents, as pure functions: encoding and decoding an entry. No I/O;
// thread-safe.
//
// Entry layout (one per accepted POST /v1/documents or DELETE /v1/documents/{id}):
//   seq    decimal sequence number: the previous entry's plus one, assigned inside Redis by
//          the publishing script, so the follower sees at once when entries are missing
//   entry  JSON: {"op":"upsert","tenant","documents":[{"id","title","text","metadata"?}...],
//          "token","origin"} or {"op":"delete","tenant","id","token","origin"}; tenant names
//          whose documents change (an entry without it, written before tenants, is the
//          tenant "default"); token names the request waiting for this entry on the replica
//          that published it, origin is that replica's gateway id
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/redis/stream_id.hpp"
#include "ragd/redis/tenant_keys.hpp"
#include "ragd/retrieval/document.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::replication {

inline constexpr const char* kSeqField = "seq";
inline constexpr const char* kEntryField = "entry";

struct IngestEntry {
  enum class Op { upsert, remove };
  Op op = Op::upsert;
  std::string tenant{redis::kDefaultTenant};
  std::vector<retrieval::Document> documents;  // upsert
  std::string doc_id;                          // remove
  std::string token;
  std::string origin;
};

std::string encode_entry(const IngestEntry& entry);
// Errc::bad_request naming what is wrong when `json` is not an entry (a tenant that is not
// valid_tenant() included).
Result<IngestEntry> decode_entry(std::string_view json);

// Stream ids (the ingest stream's positions) are the redis module's.
using redis::parse_stream_id;
using redis::StreamId;

}  // namespace ragd::replication
