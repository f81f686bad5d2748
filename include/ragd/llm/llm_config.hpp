// The llm section of the worker's configuration: the OpenAI-compatible model server, or
// none for the built-in offline generator. Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <string>

namespace ragd {

struct LlmConfig {
  std::string base_url;             // empty = built-in offline generator
  std::string model = "ragd-offline";
  std::string api_key;
  int timeout_ms = 30000;
  int max_tokens = 512;
  double temperature = 0.2;
  int max_attempts = 3;
  // Keep-alive connections to the LLM kept open between calls; 0 = the worker's
  // concurrency (fewer than the calls in flight means a new TCP connection per call).
  int max_idle_connections = 0;
};

// Env: RAGD_LLM_BASE_URL, RAGD_LLM_MODEL, RAGD_LLM_API_KEY, RAGD_LLM_TIMEOUT_MS.
void describe(ConfigFields& f, LlmConfig& c);

}  // namespace ragd
