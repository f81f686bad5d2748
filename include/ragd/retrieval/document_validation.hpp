// What a document must be to be stored, checked in one place with one set of messages:
// every write path (the HTTP API, local and replicated writes, stream entries applied by a
// follower, tools loading corpora) calls these functions and nothing else checks the same.
// Pure functions; thread-safe.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/retrieval_config.hpp"

#include <cstddef>
#include <limits>
#include <string_view>
#include <vector>

namespace ragd::retrieval {

inline constexpr std::size_t kMaxDocumentIdChars = 256;
inline constexpr std::size_t kMaxDocumentTitleChars = 1024;
inline constexpr std::size_t kMaxMetadataBytes = 4096;  // a document's metadata as JSON text

// No limit on the number of documents (tools loading whole corpora, stream entries).
inline constexpr std::size_t kAnyDocumentCount = std::numeric_limits<std::size_t>::max();

// A document id: 1..kMaxDocumentIdChars bytes, not only whitespace, and no control
// characters (C0 or DEL: NUL, ESC, tab, newlines), which logs, headers and prompts would
// carry on. `/` is allowed (ids from paths). The error (Errc::bad_request) begins with
// `field`, e.g. "documents[2].id contains a control character (0x1b)".
Result<void> validate_document_id(std::string_view id, std::string_view field = "document id");

// A batch's size: not empty ("documents is empty"), at most `max_documents`.
Result<void> validate_document_count(std::size_t count, std::size_t max_documents);

// A batch to ingest: not empty; at most `max_documents` documents; each with a valid id
// (above), no id twice in the batch, title at most kMaxDocumentTitleChars, text non-blank
// and at most `limits.max_document_chars`, metadata at most kMaxMetadataBytes. The error
// (Errc::bad_request) names the index and field, e.g. "documents[2].text is empty".
Result<void> validate_documents(const std::vector<Document>& docs, const RetrievalConfig& limits,
                                std::size_t max_documents = kAnyDocumentCount);

}  // namespace ragd::retrieval
