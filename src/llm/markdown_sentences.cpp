#include "ragd/llm/markdown_sentences.hpp"

#include "ragd/core/ascii.hpp"

#include <array>
#include <cctype>
#include <cstddef>
#include <optional>
#include <vector>

namespace ragd::llm {

namespace {

bool is_blank_byte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank_byte(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank_byte(s.back())) s.remove_suffix(1);
  return s;
}

// Columns of leading white space (a tab counts 4).
std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  for (char c : line) {
    if (c == ' ') ++n;
    else if (c == '\t') n += 4;
    else break;
  }
  return n;
}

std::string_view drop_indent(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

bool is_fence(std::string_view line) {
  line = drop_indent(line);
  return line.starts_with("```") || line.starts_with("~~~");
}

// A fence with an info string ("```bash") can only open a block.
bool is_bare_fence(std::string_view line) {
  line = trim(drop_indent(line));
  const char c = line.empty() ? '\0' : line.front();
  while (!line.empty() && line.front() == c) line.remove_prefix(1);
  return line.empty();
}

bool is_heading(std::string_view line) {
  line = drop_indent(line);
  std::size_t hashes = 0;
  while (hashes < line.size() && line[hashes] == '#') ++hashes;
  return hashes >= 1 && hashes <= 6 && (hashes == line.size() || line[hashes] == ' ' || line[hashes] == '\t');
}

// "---", "***", "___" (thematic breaks) and "===" / "---" under a line (setext headings).
bool is_rule(std::string_view line) {
  line = trim(line);
  if (line.size() < 3) return false;
  const char c = line.front();
  if (c != '-' && c != '=' && c != '*' && c != '_') return false;
  std::size_t marks = 0;
  for (char x : line) {
    if (x == c) ++marks;
    else if (x != ' ' && x != '\t') return false;
  }
  return marks >= 3;
}

// "|---|:--:|" or "--- | ---": a table's delimiter row.
bool is_table_delimiter(std::string_view line) {
  line = trim(line);
  bool dash = false;
  bool pipe = false;
  for (char c : line) {
    if (c == '-') dash = true;
    else if (c == '|') pipe = true;
    else if (c != ':' && c != ' ' && c != '\t') return false;
  }
  return dash && pipe;
}

// "- x", "* x", "+ x", "1. x", "1) x": the offset of the item's text, or nothing.
std::optional<std::size_t> list_item_text(std::string_view line) {
  const std::size_t lead = line.size() - drop_indent(line).size();
  std::size_t i = lead;
  if (i < line.size() && (line[i] == '-' || line[i] == '*' || line[i] == '+')) {
    ++i;
  } else {
    const std::size_t digits = i;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) && i - digits < 9) ++i;
    if (i == digits || i >= line.size() || (line[i] != '.' && line[i] != ')')) return std::nullopt;
    ++i;
  }
  if (i < line.size() && line[i] != ' ' && line[i] != '\t') return std::nullopt;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

// Block quote markers are layout: "> > text" is "text".
std::string_view unquote(std::string_view line) {
  for (;;) {
    std::string_view rest = drop_indent(line);
    if (rest.empty() || rest.front() != '>') return line;
    rest.remove_prefix(1);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    line = rest;
  }
}

// One run of prose: a paragraph or a list item, its lines joined by spaces.
struct Block {
  std::string text;
  int lines = 0;
  bool first = false;   // the passage's first content
  bool at_end = false;  // still open where the passage ends
};

std::vector<Block> prose_blocks(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::size_t begin = 0; begin <= text.size();) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    begin = end + 1;
  }

  // A passage may start inside a code block. A fence with an info string ("```bash") can
  // only open one, so the reading of the fences that never meets such a fence inside a block
  // is the right one; with bare fences only, an odd number of them means it starts inside.
  std::vector<bool> fences;  // bare?
  for (std::string_view l : lines) {
    if (is_fence(unquote(l))) fences.push_back(is_bare_fence(unquote(l)));
  }
  auto contradictions = [&fences](bool inside) {
    int bad = 0;
    for (bool bare : fences) {
      if (bare) inside = !inside;
      else if (inside) ++bad;
      else inside = true;
    }
    return bad;
  };
  const int outside_bad = contradictions(false);
  const int inside_bad = contradictions(true);
  bool in_code = inside_bad < outside_bad ||
                 (inside_bad == outside_bad && fences.size() % 2 == 1 && !fences.empty() && fences.front());

  std::vector<Block> blocks;
  std::optional<Block> open;
  bool seen_content = false;  // something (prose or not) came before
  bool in_table = false;
  bool in_list = false;       // indented lines after a blank continue a list item
  bool after_blank = true;
  auto close = [&] {
    if (open) blocks.push_back(std::move(*open));
    open.reset();
  };
  auto mark_content = [&] { seen_content = true; };

  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view raw = lines[i];
    if (in_code) {
      if (is_fence(unquote(raw))) in_code = false;
      mark_content();
      continue;
    }
    const std::string_view line = unquote(raw);
    if (is_fence(line)) {
      close();
      in_code = true;
      mark_content();
      continue;
    }
    if (trim(line).empty()) {
      close();
      in_table = false;
      after_blank = true;
      continue;
    }
    const bool blank_before = after_blank;
    after_blank = false;
    const std::size_t indent = indent_of(line);
    if (indent >= 4 && !open && !in_list) {  // an indented code block
      mark_content();
      continue;
    }
    if (is_heading(line)) {
      close();
      in_list = false;
      mark_content();
      continue;
    }
    if (is_rule(line)) {
      // A line right above "===" or "---" is a heading, not prose.
      if (open && open->lines == 1 && blank_before == false) open.reset();
      close();
      mark_content();
      continue;
    }
    const bool next_is_delimiter = i + 1 < lines.size() && is_table_delimiter(unquote(lines[i + 1]));
    const std::string_view body = trim(line);
    if (in_table || body.front() == '|' || body.back() == '|' || is_table_delimiter(body) ||
        (next_is_delimiter && body.find('|') != std::string_view::npos)) {
      close();
      in_table = true;
      mark_content();
      continue;
    }
    // Columns aligned with runs of spaces (a code block's lines seen without their fences,
    // when the passage starts and ends inside one) are not prose.
    if (body.find("   ") != std::string_view::npos) {
      close();
      mark_content();
      continue;
    }
    if (body.front() == '<') {  // HTML: tags, comments
      close();
      mark_content();
      continue;
    }
    if (auto item = list_item_text(line)) {
      close();
      in_list = true;
      open = Block{};
      open->text.assign(trim(line.substr(*item)));
      open->lines = 1;  // an item starts where its marker is: never a cut piece
      mark_content();
      continue;
    }
    if (open && !(blank_before && indent >= 4)) {
      open->text += ' ';
      open->text += body;
      ++open->lines;
      continue;
    }
    close();
    if (indent < 4) in_list = false;
    open = Block{};
    open->text.assign(body);
    open->lines = 1;
    open->first = !seen_content;
    mark_content();
  }
  if (open) {
    open->at_end = true;
    close();
  }
  return blocks;
}

bool is_terminal(char c) { return c == '.' || c == '!' || c == '?'; }

bool is_closer(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '*' || c == '_'; }

// A sentence may start with a capital, a digit, an opening quote or bracket, emphasis, code,
// or a byte of a non-ASCII letter.
bool starts_sentence(unsigned char c) {
  return std::isupper(c) || std::isdigit(c) || c == '"' || c == '\'' || c == '(' || c == '[' || c == '*' ||
         c == '_' || c == '`' || c >= 0x80;
}

// "Dr. Smith", "e.g. This", "J. Smith": a full stop that ends an abbreviation or an initial.
bool ends_abbreviation(std::string_view text, std::size_t dot) {
  std::size_t begin = dot;
  while (begin > 0 && !std::isspace(static_cast<unsigned char>(text[begin - 1])) && text[begin - 1] != '(') --begin;
  std::string word;
  for (std::size_t i = begin; i < dot; ++i) word += ascii_lower(text[i]);
  if (word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0]))) return true;
  static constexpr std::array<std::string_view, 13> kAbbreviations = {
      "mr", "mrs", "ms", "dr", "prof", "st", "vs", "e.g", "i.e", "cf", "fig", "no", "approx"};
  for (std::string_view a : kAbbreviations) {
    if (word == a) return true;
  }
  return false;
}

bool has_word(std::string_view s) {
  for (unsigned char c : s) {
    if (std::isalnum(c) || c >= 0x80) return true;
  }
  return false;
}

struct Piece {
  std::string text;
  bool punctuated = false;
};

std::vector<Piece> split_block(std::string_view text) {
  std::vector<Piece> out;
  std::size_t begin = 0;
  std::size_t code_ticks = 0;  // the backtick run that opened the code span we are in
  auto emit = [&](std::size_t end, bool punctuated) {
    std::string_view s = trim(text.substr(begin, end - begin));
    if (has_word(s)) out.push_back(Piece{std::string(s), punctuated});
    begin = end;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '`') {
      std::size_t run = 1;
      while (i + run < text.size() && text[i + run] == '`') ++run;
      if (code_ticks == 0) code_ticks = run;
      else if (code_ticks == run) code_ticks = 0;
      i += run - 1;
      continue;
    }
    if (code_ticks != 0 || !is_terminal(c)) continue;
    std::size_t j = i + 1;
    while (j < text.size() && (is_terminal(text[j]) || is_closer(text[j]))) ++j;
    if (j == text.size()) {
      emit(j, true);
      break;
    }
    if (text[j] != ' ') continue;
    std::size_t k = j;
    while (k < text.size() && text[k] == ' ') ++k;
    if (k < text.size() && !starts_sentence(static_cast<unsigned char>(text[k]))) continue;
    if (c == '.' && ends_abbreviation(text, i)) continue;
    emit(j, true);
    i = j - 1;
  }
  if (begin < text.size()) {
    // An unterminated code span is not code: the text simply had a stray backtick.
    std::string_view rest = trim(text.substr(begin));
    bool punctuated = false;
    while (!rest.empty() && is_closer(rest.back())) rest.remove_suffix(1);
    if (!rest.empty() && is_terminal(rest.back())) punctuated = true;
    emit(text.size(), punctuated);
  }
  return out;
}

}  // namespace

std::vector<std::string> markdown_sentences(std::string_view markdown) {
  std::vector<std::string> out;
  for (Block& block : prose_blocks(markdown)) {
    std::vector<Piece> pieces = split_block(block.text);
    std::size_t from = 0;
    std::size_t to = pieces.size();
    if (block.first && !pieces.empty() && std::islower(static_cast<unsigned char>(pieces.front().text.front()))) {
      from = 1;  // the passage begins mid-sentence
    }
    if (block.at_end && to > from && !pieces.back().punctuated) --to;  // it ends mid-sentence
    for (std::size_t i = from; i < to; ++i) {
      if (pieces[i].text.back() == ':') continue;
      out.push_back(std::move(pieces[i].text));
    }
  }
  return out;
}

}  // namespace ragd::llm
