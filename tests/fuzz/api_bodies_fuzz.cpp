// The request bodies of POST /query, POST /v1/chat/completions and POST /v1/documents through
// the validation the server applies, with the default limits: parse_query_body() for a query,
// parse_chat_body() for a chat completion; parse_documents_body()
// (the body's shape) then retrieval::validate_documents() (what a document must be, checked
// by every write path) for documents. What passes both must be within those limits; what
// is refused is refused as a bad request.
#include "ragd/http/api.hpp"
#include "ragd/http/chat_api.hpp"
#include "ragd/http/gateway_config.hpp"
#include "ragd/retrieval/document_validation.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string_view>

namespace {

bool control_or_blank(std::string_view id) {
  bool blank = true;
  for (char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
    if (c != ' ') blank = false;
  }
  return blank;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ragd::QueryConfig query_limits;
  static const ragd::RetrievalConfig retrieval_limits;
  namespace retrieval = ragd::retrieval;
  std::string_view body(reinterpret_cast<const char*>(data), size);

  if (auto q = ragd::http::parse_query_body(body, query_limits)) {
    if (q->query.empty() || ragd::http::utf8_length(q->query) > query_limits.max_query_chars) __builtin_trap();
    if (q->top_k < 0 || q->top_k > query_limits.max_top_k) __builtin_trap();
    if (q->user_id.size() > query_limits.max_id_chars * 4 || q->session_id.size() > query_limits.max_id_chars * 4)
      __builtin_trap();
  } else if (q.error().code != ragd::Errc::bad_request) {
    __builtin_trap();
  }

  if (auto chat = ragd::http::parse_chat_body(body, query_limits)) {
    const auto& q = chat->query;
    if (q.query.empty() || ragd::http::utf8_length(q.query) > query_limits.max_query_chars) __builtin_trap();
    if (q.top_k < 0 || q.top_k > query_limits.max_top_k) __builtin_trap();
    if (q.temperature > 2) __builtin_trap();
  } else if (chat.error().code != ragd::Errc::bad_request) {
    __builtin_trap();
  }

  auto docs = ragd::http::parse_documents_body(body, retrieval_limits);
  if (!docs) {
    if (docs.error().code != ragd::Errc::bad_request) __builtin_trap();
    return 0;
  }
  auto valid = retrieval::validate_documents(*docs, retrieval_limits, retrieval_limits.max_documents_per_request);
  if (!valid) {
    if (valid.error().code != ragd::Errc::bad_request) __builtin_trap();
    return 0;
  }
  if (docs->empty() || docs->size() > retrieval_limits.max_documents_per_request) __builtin_trap();
  std::set<std::string_view> ids;
  for (const auto& d : *docs) {
    if (d.id.empty() || d.id.size() > retrieval::kMaxDocumentIdChars || control_or_blank(d.id)) __builtin_trap();
    if (!ids.insert(d.id).second) __builtin_trap();
    if (d.title.size() > retrieval::kMaxDocumentTitleChars) __builtin_trap();
    if (d.text.size() > retrieval_limits.max_document_chars) __builtin_trap();
    if (d.text.find_first_not_of(" \t\n\r\f\v") == std::string::npos) __builtin_trap();
    if (d.metadata.size() > retrieval::kMaxMetadataBytes) __builtin_trap();
    if (!d.metadata.empty() && !nlohmann::json::accept(d.metadata)) __builtin_trap();
  }
  return 0;
}
