// The answer cache key: a digest of everything that changes an answer. Pure functions,
// thread-safe.
//
// In the key: the tenant (answers never cross tenants), the normalised query, the profile
// fields the prompt uses (the cohort, not the user id, so users alike share answers), a
// digest of the session context (a follow-up is not the same question), the index
// version (new documents are never hidden behind old answers), the prompt template
// version, rule instructions, the model, the generation parameters and the metadata filter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::cache {

// Lower-cases ASCII, turns punctuation into spaces, collapses runs of white space and
// trims, so "What is RAGD?" and "what is ragd" share a key. Bytes >= 0x80 are kept.
std::string normalize_query(std::string_view query);

struct AnswerKeyParts {
  std::string tenant;
  std::string query;  // as asked; normalised inside
  std::map<std::string, std::string> cohort;
  std::vector<std::string> session_context;  // earlier turns, oldest first
  std::vector<std::string> instructions;
  std::uint64_t index_version = 0;
  int prompt_version = 0;
  std::string model;
  int top_k = 0;
  std::string retrieval_mode;
  // The query's metadata filter as canonical text (MetadataFilter::canonical()); empty
  // when it has none, and then not part of the digest, so keys of such answers are unchanged.
  std::string filter;
  // Generation parameters a request set (max_tokens, temperature), as text; empty when it
  // set none, and then not part of the digest, so keys of such answers are unchanged.
  std::string generation;
};

// 64 hex characters.
std::string answer_key(const AnswerKeyParts& parts);

}  // namespace ragd::cache
