// The values that flow through retrieval: a Document as posted by a client, the Chunks
// it is cut into, and the Hits a search returns. Plain values: copy freely, no shared
// state, safe to hand between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ragd::retrieval {

struct Document {
  std::string id;     // stable, client-chosen; re-posting it replaces the old version
  std::string title;  // may be empty
  std::string text;
  // Client metadata: a flat JSON object (string, number and bool values) as compact JSON
  // text, or "" for none. Validated at the API (see http/api.cpp); stored verbatim.
  std::string metadata = {};
};

// A document as the Retriever holds it (GET /v1/documents/{id}).
struct StoredDocument {
  std::string id;
  std::string title;
  std::string metadata;  // as in Document
  std::string text;      // as ingested
  std::size_t chunks = 0;
};

// A document as a listing shows it (GET /v1/documents): StoredDocument without its text.
struct DocumentSummary {
  std::string id;
  std::string title;
  std::string metadata;  // as in Document
  std::size_t chunks = 0;
};

struct Chunk {
  std::int64_t id = 0;   // index key; assigned by the Retriever (the chunker leaves it 0)
  std::string doc_id;
  std::string chunk_id;  // "<doc_id>#<position>"
  std::string title;     // "Doc title › Nearest heading" (either part may be missing)
  std::string text;      // a verbatim slice of the document, trimmed of outer whitespace
  int position = 0;      // 0-based order within the document
  std::size_t offset = 0;  // byte offset of `text` inside Document::text
};

struct Hit {
  std::string doc_id;
  std::string chunk_id;
  std::string title;
  std::string text;
  double score = 0.0;  // cosine similarity in [-1, 1]; higher is better
  std::string metadata = {};  // the document's, as in Document
};

}  // namespace ragd::retrieval
