#include "ragd/cache/answer_key.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/ids.hpp"

namespace ragd::cache {

std::string normalize_query(std::string_view query) {
  // Written through a pointer into a buffer sized for the worst case (long questions make
  // this a per-byte loop worth keeping tight), then cut to what was written.
  std::string out(query.size(), '\0');
  char* w = out.data();
  char* const begin = w;
  bool space = false;
  for (unsigned char c : query) {
    if (c < 0x80 && !ascii_alnum(c)) {
      space = w != begin;
      continue;
    }
    if (space) *w++ = ' ';
    space = false;
    *w++ = ascii_lower(static_cast<char>(c));
  }
  out.resize(static_cast<std::size_t>(w - begin));
  return out;
}

namespace {

// Length-prefixed fields: no choice of values can make two different part lists encode
// to the same bytes.
void field(std::string& out, std::string_view tag, std::string_view value) {
  out += tag;
  out += std::to_string(value.size());
  out += ':';
  out += value;
}

}  // namespace

std::string answer_key(const AnswerKeyParts& p) {
  std::string buf;
  buf.reserve(256 + p.query.size());
  field(buf, "v", "3");  // the layout of cached entries; bump when it changes
  field(buf, "t", p.tenant);
  field(buf, "q", normalize_query(p.query));
  for (const auto& [k, v] : p.cohort) {
    field(buf, "ck", k);
    field(buf, "cv", v);
  }
  for (const auto& s : p.session_context) field(buf, "s", s);
  for (const auto& i : p.instructions) field(buf, "i", i);
  field(buf, "x", std::to_string(p.index_version));
  field(buf, "p", std::to_string(p.prompt_version));
  field(buf, "m", p.model);
  field(buf, "k", std::to_string(p.top_k));
  field(buf, "r", p.retrieval_mode);
  if (!p.generation.empty()) field(buf, "g", p.generation);
  if (!p.filter.empty()) field(buf, "f", p.filter);
  return sha256_hex(buf);
}

}  // namespace ragd::cache
