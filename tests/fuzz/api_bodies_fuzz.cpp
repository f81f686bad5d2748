// The request bodies of POST /query and POST /v1/documents through their validation, with
// the default limits. What is accepted must be within those limits.
#include "ragd/http/gateway_config.hpp"
#include "ragd/http/api.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ragd::QueryConfig query_limits;
  static const ragd::RetrievalConfig retrieval_limits;
  std::string_view body(reinterpret_cast<const char*>(data), size);

  if (auto q = ragd::http::parse_query_body(body, query_limits)) {
    if (q->query.empty() || ragd::http::utf8_length(q->query) > query_limits.max_query_chars) __builtin_trap();
    if (q->top_k < 0 || q->top_k > query_limits.max_top_k) __builtin_trap();
    if (q->user_id.size() > query_limits.max_id_chars * 4 || q->session_id.size() > query_limits.max_id_chars * 4)
      __builtin_trap();
  }
  if (auto docs = ragd::http::parse_documents_body(body, retrieval_limits)) {
    if (docs->empty() || docs->size() > retrieval_limits.max_documents_per_request) __builtin_trap();
    for (const auto& d : *docs) {
      if (d.id.empty()) __builtin_trap();
    }
  }
  return 0;
}
