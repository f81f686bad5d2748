// Jobs, queue settings and a generator configuration as the llm and queue tests use them.
#pragma once

#include "ragd/core/ids.hpp"
#include "ragd/llm/llm_config.hpp"
#include "ragd/queue/job.hpp"
#include "ragd/queue/queue_config.hpp"

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

// A queued job asking `question`, due within `within`.
inline queue::Job job_asking(std::string question, std::chrono::milliseconds within = std::chrono::seconds(10)) {
  queue::Job job;
  job.question = std::move(question);
  job.deadline_unix_ms = unix_ms() + within.count();
  return job;
}

// Queue settings with heartbeats every 100 ms and a worker taken for dead after 2 s.
inline QueueConfig queue_config() {
  QueueConfig q;
  q.heartbeat_interval_ms = 100;
  q.worker_stale_ms = 2000;
  return q;
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
