// A chat job and a generator configuration as the llm tests use them.
#pragma once

#include "ragd/core/ids.hpp"
#include "ragd/llm/llm_config.hpp"
#include "ragd/queue/job.hpp"

#include <chrono>
#include <string>
#include <utility>

namespace ragd::test {

inline queue::Job chat_job(std::string question, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  queue::Job job;
  job.id = "job-1";
  job.deadline_unix_ms = unix_ms() + deadline.count();
  job.question = question;
  job.messages = {{"system", "Answer from the context."}, {"user", std::move(question)}};
  return job;
}

inline LlmConfig llm_config_for(const std::string& base_url, int max_attempts = 3) {
  LlmConfig cfg;
  cfg.base_url = base_url;
  cfg.model = "test-model";
  cfg.max_attempts = max_attempts;
  cfg.timeout_ms = 10000;
  return cfg;
}

}  // namespace ragd::test
