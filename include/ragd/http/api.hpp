// The JSON shapes of the public API, as pure functions: request bodies are validated
// strictly (wrong types, out-of-range values and unknown fields are 400s naming the
// field), responses rendered in one place. Thread-safe (no state).
#pragma once

#include "ragd/http/http_config.hpp"
#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/core/error.hpp"
#include "ragd/orchestrator/pipeline.hpp"
#include "ragd/retrieval/corpus.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/metadata_filter.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ragd {
class JsonWriter;
}

namespace ragd::http {

// POST /query: {"query": str, "user_id"?: str, "session_id"?: str, "top_k"?: int,
// "mode"?: str, "cache"?: str, "stream"?: bool, "filter"?: {...}}.
Result<orchestrator::QueryRequest> parse_query_body(std::string_view body, const QueryConfig& limits);
// A request's "filter" (retrieval/metadata_filter.hpp): null for the empty filter {}; a
// malformed one is a bad_request naming its path ("'filter.year.$gt' must be a number").
Result<retrieval::MetadataFilterPtr> parse_filter(const nlohmann::json& filter);
std::string render_query_result(const orchestrator::QueryResult& r);
// The request's own fields of a result (request_id, cache, retrieval_degraded, timings_ms,
// cache_age_ms, rules_matched), as members of an object `w` has open.
void write_query_fields(JsonWriter& w, const orchestrator::QueryResult& r);

// POST /v1/documents: {"documents": [{"id": str, "title"?: str, "text": str,
// "metadata"?: {str: str | number | bool}}, ...]}.
Result<std::vector<retrieval::Document>> parse_documents_body(std::string_view body,
                                                              const RetrievalConfig& limits);

// GET /v1/documents/{id}: {"id", "title", "metadata", "chunks", "text", "index_version"}.
std::string render_document(const retrieval::StoredDocument& d, std::uint64_t index_version);

// GET /v1/documents?limit=&cursor=: the page asked for. The cursor is opaque to clients: the
// last id of the previous page, encoded; the listing goes on after it.
struct DocumentListing {
  std::string after;  // "" = from the first document
  std::size_t limit = 0;
};
inline constexpr std::size_t kDefaultListingLimit = 100;
inline constexpr std::size_t kMaxListingLimit = 1000;
// From the request's query string; a bad limit or cursor is a bad_request naming it.
Result<DocumentListing> parse_listing_query(std::string_view query);
// {"documents": [{"id", "title", "metadata", "chunks"}, ...], "next_cursor": str | null}
std::string render_document_page(const retrieval::DocumentPage& page);

// Number of Unicode code points in UTF-8 text (invalid bytes count one each).
std::size_t utf8_length(std::string_view s);

}  // namespace ragd::http
