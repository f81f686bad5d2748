// Prompt building: a pure function from what the pipeline gathered (rule instructions,
// profile, session history, retrieved passages, the question) to chat messages for an
// OpenAI-compatible model. Retrieved passages are fenced and declared untrusted, so text
// inside a document cannot pose as instructions. Thread-safe (no state).
#pragma once

#include "ragd/queue/job.hpp"

#include <map>
#include <string>
#include <vector>

namespace ragd::orchestrator {

// Bump when the prompt's wording or layout changes: it is part of the answer cache key.
// 2: document ids and titles in passage headers are escaped (append_attribute_safe).
inline constexpr int kPromptTemplateVersion = 2;

struct Turn {
  std::string question;
  std::string answer;
};

struct PromptInput {
  std::string question;
  std::vector<queue::Passage> passages;
  std::map<std::string, std::string> profile;
  std::vector<std::string> instructions;  // from rules
  std::vector<Turn> history;              // oldest first
};

std::vector<queue::ChatMessage> build_prompt(const PromptInput& in);

// Neutralises fence markers inside untrusted text.
std::string fence_safe(std::string_view text);
// The same, appended to `out`.
void append_fence_safe(std::string& out, std::string_view text);
// Appends `text` as the value of a quoted header attribute: `"`, `&`, `<`, `>` and control
// characters (newlines included) become character references (`&quot;`, `&#10;`), so a
// document id or title can neither end its attribute nor its header, nor form a fence marker.
void append_attribute_safe(std::string& out, std::string_view text);

}  // namespace ragd::orchestrator
