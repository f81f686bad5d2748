#include "ragd/retrieval/chunker.hpp"

#include <algorithm>
#include <string_view>

namespace ragd::retrieval {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct Section {
  std::size_t begin;
  std::size_t end;
  std::string heading;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// An ATX heading: up to three spaces, one to six '#', then a space or the line's end.
// Returns the heading text (closing '#'s removed), or nothing for other lines.
bool parse_heading(std::string_view line, std::string& heading) {
  std::size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  std::size_t hashes = 0;
  while (i < line.size() && line[i] == '#') ++i, ++hashes;
  if (hashes == 0 || hashes > 6) return false;
  if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return false;
  std::string_view text = trim(line.substr(i));
  while (!text.empty() && text.back() == '#') text.remove_suffix(1);
  heading.assign(trim(text));
  return true;
}

bool is_fence(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  line.remove_prefix(i);
  return line.starts_with("```") || line.starts_with("~~~");
}

// Sections start at headings. A heading with nothing under it before the next heading
// (a "# Title" right above "## Install") joins the next section, so no chunk is a lone
// heading line; the nearer heading names the section.
std::vector<Section> split_sections(std::string_view text) {
  std::vector<Section> sections;
  Section current{0, 0, {}};
  bool has_body = false;
  bool in_fence = false;
  std::string heading;
  std::size_t line_begin = 0;
  while (line_begin < text.size()) {
    std::size_t line_end = text.find('\n', line_begin);
    if (line_end == std::string_view::npos) line_end = text.size();
    const std::string_view line = text.substr(line_begin, line_end - line_begin);
    if (is_fence(line)) {
      in_fence = !in_fence;
      has_body = true;
    } else if (!in_fence && parse_heading(line, heading)) {
      if (has_body) {
        current.end = line_begin;
        sections.push_back(std::move(current));
        current = Section{line_begin, 0, {}};
        has_body = false;
      }
      current.heading = heading;
    } else if (!trim(line).empty()) {
      has_body = true;
    }
    line_begin = line_end + 1;
  }
  current.end = text.size();
  sections.push_back(std::move(current));
  return sections;
}

// How good a place to cut the whitespace run starting at `p` is: 3 for a paragraph break
// (a blank line), 2 for a sentence end or a line break, 1 for any other space.
int break_class(std::string_view text, std::size_t p) {
  int newlines = 0;
  for (std::size_t q = p; q < text.size() && is_space(text[q]); ++q) {
    if (text[q] == '\n') ++newlines;
  }
  if (newlines >= 2) return 3;
  if (newlines == 1) return 2;
  std::size_t q = p;
  // Look through closing quotes and brackets: `said "no." Then` ends a sentence.
  while (q > 0 && (text[q - 1] == '"' || text[q - 1] == '\'' || text[q - 1] == ')' ||
                   text[q - 1] == ']')) {
    --q;
  }
  if (q > 0 && (text[q - 1] == '.' || text[q - 1] == '!' || text[q - 1] == '?' ||
                text[q - 1] == ':' || text[q - 1] == ';')) {
    return 2;
  }
  return 1;
}

// Never leave a chunk ending inside a UTF-8 sequence when a giant word must be cut.
std::size_t utf8_floor(std::string_view text, std::size_t p) {
  while (p > 0 && p < text.size() && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
  return p;
}

struct Cut {
  std::size_t end;    // the chunk is [start, end)
  bool at_space;      // false when a giant word was cut
};

// Where to end a chunk that starts at `start` and cannot reach `section_end` within
// `target`. Cuts lie at word ends (a whitespace byte after a non-whitespace one) after
// `min_end`. The best class in the upper half of the window wins, latest first; then the
// latest cut anywhere; then, for one word longer than the window, its end.
Cut find_cut(std::string_view text, std::size_t start, std::size_t min_end, std::size_t target,
             std::size_t section_end) {
  const std::size_t limit = start + target;
  const std::size_t half = start + target / 2;
  const std::size_t floor = std::max(start, min_end);
  std::size_t best[4] = {0, 0, 0, 0};
  std::size_t latest = 0;
  for (std::size_t p = limit; p > floor; --p) {
    if (!is_space(text[p]) || is_space(text[p - 1])) continue;
    if (latest == 0) latest = p;
    if (p < half) break;  // below half only `latest` matters, and it is set
    const int c = break_class(text, p);
    if (best[c] == 0) best[c] = p;
  }
  for (int c = 3; c >= 1; --c) {
    if (best[c] != 0) return {best[c], true};
  }
  if (latest != 0) return {latest, true};
  std::size_t p = limit;
  while (p < section_end && !is_space(text[p])) ++p;
  const std::size_t hard_limit = start + kMaxWordChunkFactor * target;
  if (p > hard_limit) return {utf8_floor(text, hard_limit), false};
  return {p, true};
}

// Where the next chunk starts so that it repeats about `overlap` bytes before `cut`: the
// first sentence start in that window, else its first word start. 0 when there is none.
std::size_t overlap_start(std::string_view text, std::size_t start, std::size_t cut,
                          std::size_t overlap) {
  const std::size_t from = std::max(start + 1, cut > overlap ? cut - overlap : 0);
  std::size_t first_word = 0;
  for (std::size_t p = from; p < cut; ++p) {
    if (is_space(text[p]) || !is_space(text[p - 1])) continue;
    std::size_t q = p - 1;
    while (q > start && is_space(text[q])) --q;
    if (break_class(text, q + 1) >= 2) return p;
    if (first_word == 0) first_word = p;
  }
  return first_word;
}

}  // namespace

std::string chunk_title(const std::string& doc_title, const std::string& heading) {
  if (heading.empty() || heading == doc_title) return doc_title;
  if (doc_title.empty()) return heading;
  return doc_title + " \u203a " + heading;
}

std::string indexed_text(const Chunk& chunk) {
  if (chunk.title.empty()) return chunk.text;
  std::string s;
  s.reserve(chunk.title.size() + 1 + chunk.text.size());
  s += chunk.title;
  s += '\n';
  s += chunk.text;
  return s;
}

std::vector<Chunk> chunk_document(const Document& doc, const ChunkerConfig& config) {
  const std::string_view text = doc.text;
  // A floor keeps a misconfigured target from producing one chunk per word.
  const std::size_t target = std::max<std::size_t>(config.target_chars, 32);
  // Overlap beyond a third of the target would make consecutive chunks mostly the same.
  const std::size_t overlap = std::min(config.overlap_chars, target / 3);

  std::vector<Chunk> chunks;
  auto emit = [&](std::size_t begin, std::size_t end, const std::string& title) {
    const std::string_view body = trim(text.substr(begin, end - begin));
    if (body.empty()) return;
    Chunk c;
    c.doc_id = doc.id;
    c.position = static_cast<int>(chunks.size());
    c.chunk_id = doc.id + "#" + std::to_string(c.position);
    c.title = title;
    c.text.assign(body);
    c.offset = static_cast<std::size_t>(body.data() - text.data());
    chunks.push_back(std::move(c));
  };

  for (const Section& section : split_sections(text)) {
    const std::string title = chunk_title(doc.title, section.heading);
    std::size_t start = section.begin;
    std::size_t prev_end = section.begin;
    while (start < section.end && is_space(text[start])) ++start;
    while (start < section.end) {
      std::size_t last = section.end;
      while (last > start && is_space(text[last - 1])) --last;
      if (last - start <= target) {
        emit(start, last, title);
        break;
      }
      const Cut cut = find_cut(text, start, prev_end, target, section.end);
      emit(start, cut.end, title);
      prev_end = cut.end;
      std::size_t next = cut.end;
      while (next < section.end && is_space(text[next])) ++next;
      if (overlap > 0 && cut.at_space) {
        const std::size_t o = overlap_start(text, start, cut.end, overlap);
        if (o != 0) next = o;
      }
      start = next;
    }
  }
  return chunks;
}

}  // namespace ragd::retrieval
