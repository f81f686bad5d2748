#include "ragd/retrieval/document_validation.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>

namespace ragd::retrieval {
namespace {

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

std::string field(std::size_t index, const char* name) {
  return "documents[" + std::to_string(index) + "]." + name;
}

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

}  // namespace

Result<void> validate_document_id(std::string_view id, std::string_view field) {
  if (id.empty()) return bad(std::string(field) + " is empty");
  if (id.size() > kMaxDocumentIdChars) {
    return bad(std::string(field) + " is longer than " + std::to_string(kMaxDocumentIdChars) + " characters");
  }
  for (char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      return bad(std::string(field) + " contains a control character (" + code + ")");
    }
  }
  if (is_blank(id)) return bad(std::string(field) + " is only whitespace");
  return {};
}

Result<void> validate_document_count(std::size_t count, std::size_t max_documents) {
  if (count == 0) return bad("documents is empty");
  if (count > max_documents) {
    return bad("documents holds " + std::to_string(count) + " documents; at most " + std::to_string(max_documents) +
               " are accepted per request");
  }
  return {};
}

Result<void> validate_documents(const std::vector<Document>& docs, const RetrievalConfig& limits,
                                std::size_t max_documents) {
  if (auto ok = validate_document_count(docs.size(), max_documents); !ok) return ok;
  std::unordered_map<std::string_view, std::size_t> first_index;
  first_index.reserve(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const Document& d = docs[i];
    if (auto ok = validate_document_id(d.id, field(i, "id")); !ok) return ok.error();
    if (d.title.size() > kMaxDocumentTitleChars) {
      return bad(field(i, "title") + " is longer than " + std::to_string(kMaxDocumentTitleChars) + " characters");
    }
    if (is_blank(d.text)) return bad(field(i, "text") + " is empty");
    if (d.text.size() > limits.max_document_chars) {
      return bad(field(i, "text") + " is longer than " + std::to_string(limits.max_document_chars) +
                 " characters");
    }
    if (d.metadata.size() > kMaxMetadataBytes) {
      return bad(field(i, "metadata") + " is longer than " + std::to_string(kMaxMetadataBytes) + " bytes as JSON");
    }
    auto [it, inserted] = first_index.emplace(d.id, i);
    if (!inserted) {
      return bad(field(i, "id") + " repeats documents[" + std::to_string(it->second) + "].id \"" + d.id + "\"");
    }
  }
  return {};
}

}  // namespace ragd::retrieval
