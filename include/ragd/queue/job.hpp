// The messages that cross the LLM job queue, and their wire encoding (pure functions; no
// I/O). A Job travels gateway → Redis stream → worker; a JobReply travels back on the
// asking gateway's own reply stream. Plain values: thread-safe to copy.
#pragma once

#include "ragd/core/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ragd::queue {

enum class Priority { interactive = 0, refresh = 1, batch = 2 };

struct ChatMessage {
  std::string role;     // system, user, assistant
  std::string content;
};

struct Passage {
  std::string doc_id;
  std::string chunk_id;
  std::string title;
  std::string text;
  double score = 0;
};

struct Job {
  std::string id;                // unique job id
  std::string reply_to;          // the asking gateway's reply stream key
  std::int64_t deadline_unix_ms = 0;  // absolute; past it the job is dropped
  Priority priority = Priority::interactive;
  std::string tenant;
  std::string request_id;
  // W3C traceparent of the gateway's span (core/trace.hpp); the worker logs its trace id.
  // Optional on the wire: jobs from gateways without it decode with it empty.
  std::string traceparent;
  std::string model;
  int max_tokens = 512;
  double temperature = 0.2;
  std::vector<ChatMessage> messages;  // the full prompt for an OpenAI-compatible model
  // Set by decode_job()'s forwarding mode instead of `messages`: the job's `messages` array
  // as it was on the wire, valid JSON, non-empty, of objects that have exactly a string
  // "role" and a string "content". Empty otherwise. encode_job() ignores it.
  std::string messages_json;
  std::string question;               // the user's question, for the offline generator
  std::vector<Passage> passages;      // retrieved context, for the offline generator
  std::int64_t enqueued_unix_ms = 0;
  int attempt = 0;                    // set by the consumer from the delivery count
  // The asker relays the answer as it is produced: the worker streams it back as delta
  // entries before the reply (see job_stream.hpp).
  bool stream = false;
};

struct JobReply {
  std::string job_id;
  bool ok = false;
  std::string text;                 // the answer
  std::string model;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  std::string error_code;           // when !ok: deadline_exceeded, upstream_error, ...
  std::string error_message;
  double queue_wait_ms = 0;         // enqueue → worker pick-up
  double llm_ms = 0;                // time in the generator / LLM call
  std::string worker;               // consumer name that answered
  std::string run_id;               // streamed jobs: the run whose deltas preceded this reply
  // Set by the gateway's JobClient, not carried in the reply: the part of queue_wait_ms
  // before Redis took the job (the entry id's time, Redis's clock against the gateway's);
  // negative when unknown.
  double enqueue_ms = -1;
};

// JSON encodings carried in one stream field.
//
// `compact`: a passage whose text the prompt already carries, as the body of the matching
// passage fence that orchestrator::build_prompt() writes in the last (user) message, goes
// without its text, and the job says so ("passages_in_prompt"); decode_job() cuts the texts
// back out of the fences. The text is left out only where the fence holds it exactly, so a
// job decodes to what was encoded either way. Workers from before this format would see
// those passages without text (the offline generator reads them): keep `compact` off
// (queue.compact_jobs) while such workers share the queue.
std::string encode_job(const Job& job, bool compact = true);

// How much of a job decode_job() decodes.
// - full: everything.
// - forwarding: for a worker that passes the messages on to an OpenAI-compatible model as
//   they are. The payload is checked as strictly as in full mode, but the messages are not
//   decoded: they are left in Job::messages_json, and `messages` stays empty; passage texts
//   that the prompt carries (see `compact`) stay empty too, and so the one check of full mode
//   that reads the prompt's text, that it holds the passage fences "passages_in_prompt"
//   promises, is not made (the forwarding worker reads no passage text). A job whose messages have
//   members other than role and content is decoded in full instead, so that only those two
//   reach the model either way.
enum class JobDecoding { full, forwarding };

Result<Job> decode_job(const std::string& payload, JobDecoding decoding = JobDecoding::full);
std::string encode_reply(const JobReply& reply);
Result<JobReply> decode_reply(const std::string& payload);

}  // namespace ragd::queue
