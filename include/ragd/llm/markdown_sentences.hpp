// The sentences of a passage of markdown, for the offline generator to quote: prose only,
// each one whole. Passages are chunks cut out of documents, so they may begin or end in the
// middle of a sentence, a table or a code block, and their paragraphs are wrapped lines.
//
//  - a paragraph's wrapped lines are one text; a list item (with its continuation lines) or
//    a block quote's paragraph is one text of its own;
//  - headings, table rows, thematic breaks, HTML lines, fenced and indented code blocks are
//    not prose and give no sentences (a passage that starts inside a code block is detected
//    by its fences; lines with columns aligned by runs of spaces are taken for code seen
//    without its fences);
//  - a text is split at '.', '!' or '?' (closing quotes and brackets may follow) before
//    white space and an upper-case letter, a digit, an opening quote or bracket, or the
//    text's end; never inside an inline code span, so "e.g. this" and "v1.5" stay whole;
//  - what may be a cut piece is dropped: the first sentence when the passage begins in lower
//    case (the chunker cut a sentence there), the last one when the passage ends without
//    final punctuation (it cut there), and sentences ending in ':' (what they introduce is
//    not in them).
//
// Every sentence returned is a verbatim run of its source text with the line breaks inside
// it replaced by single spaces. Pure function: no I/O, no shared state; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ragd::llm {

std::vector<std::string> markdown_sentences(std::string_view markdown);

}  // namespace ragd::llm
