// chunk_document(): cuts a document into retrieval-sized chunks along its structure.
// Markdown headings start sections (ATX "#" headings outside fenced code blocks); inside
// a section the cut prefers, in order, a blank-line paragraph break, a sentence end or
// line break, then any whitespace, packing each chunk up to `target_chars` bytes.
// Consecutive chunks of one section share about `overlap_chars` of text, starting on a
// word boundary, so a fact that straddles a cut is whole in at least one chunk.
//
// Guarantees, which the tests check:
//  - every chunk's text is a verbatim slice of the document (Chunk::offset says where),
//    trimmed of outer whitespace, and together the chunks cover every non-whitespace byte;
//  - no chunk starts or ends inside a word (a run of non-whitespace bytes), except a
//    single word longer than kMaxWordChunkFactor * target_chars, which is cut so that
//    garbage input (a megabyte of base64) cannot produce unbounded chunks;
//  - a chunk is at most target_chars bytes unless one word alone is longer;
//  - the chunk title carries the nearest heading: "Doc title › Heading".
//
// Pure function: no I/O, no shared state; safe from any thread.
#pragma once

#include "ragd/retrieval/retrieval_config.hpp"
#include "ragd/retrieval/document.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace ragd::retrieval {

inline constexpr std::size_t kMaxWordChunkFactor = 4;

// Chunk ids are "<doc.id>#<n>", n from 0; Chunk::id is left 0 for the caller to assign.
// A document with no non-whitespace text yields no chunks.
std::vector<Chunk> chunk_document(const Document& doc, const ChunkerConfig& config);

// "Doc title › Heading", or whichever of the two is non-empty.
std::string chunk_title(const std::string& doc_title, const std::string& heading);

// What both indexes see of a chunk: its title, a newline, its text (the title gives every
// chunk the context its own text may lack: "It listens on port 6379" under "Redis").
std::string indexed_text(const Chunk& chunk);

}  // namespace ragd::retrieval
