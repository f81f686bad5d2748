// The queue section: the LLM job streams, their bounds, delivery attempts and worker
// heartbeats. Shared by the gateway (which enqueues and sheds) and the worker (which
// reads, reclaims and acknowledges). Plain values.
#pragma once

#include "ragd/core/config_fields.hpp"

#include <cstdint>
#include <string>

namespace ragd {

struct QueueConfig {
  // Every queue key starts with this: the jobs streams (unless jobs_stream is set), worker
  // heartbeats, reply streams, reply-once guards. Not read from the queue section: loading
  // a config copies redis.key_prefix here.
  std::string key_prefix = "ragd:";
  std::string jobs_stream = "ragd:jobs";  // default: <redis.key_prefix>jobs
  std::string group = "ragd-workers";
  std::int64_t max_depth = 10000;      // interactive jobs waiting; past it the gateway sheds with 503
  std::int64_t max_depth_refresh = 1000;   // cache-refresh jobs (stream <jobs_stream>:refresh)
  std::int64_t max_depth_batch = 10000;    // batch jobs (stream <jobs_stream>:batch)
  // Target wait of an interactive job for a worker: each gateway adapts how many of its
  // queries it keeps in the queue so that they wait about this long, and sheds the rest at
  // once with 503 (see queue/admission_limit.hpp). 0 = off (only max_depth applies).
  int max_wait_ms = 0;
  int max_attempts = 3;                // deliveries of one job; past it: dead-letter stream
  int reclaim_idle_ms = 60000;         // a job held this long by a silent worker is taken over
  int reply_ttl_ms = 60000;            // reply streams expire when idle this long
  // (workers) A streamed answer's pieces after the first are written to the asker's reply
  // stream at most this often, the pieces of the interval in one entry (job_stream.hpp).
  // Every entry costs a Redis write, a read and a wake-up of the gateway and an SSE write:
  // one a display frame (16 ms) keeps the text smooth to a reader at a fraction of a
  // token-per-entry cost. The first piece always goes at once.
  int delta_coalesce_ms = 16;
  int heartbeat_interval_ms = 1000;
  int worker_stale_ms = 5000;          // /readyz needs a heartbeat newer than this
  // Jobs carry each passage's text once, in the prompt (see queue::encode_job). Turn off
  // while workers older than this format share the queue.
  bool compact_jobs = true;
};

// Every key of the section but key_prefix (see follow_key_prefix).
void describe(ConfigFields& f, QueueConfig& c);

// The queue's keys follow redis.key_prefix, so two deployments sharing one Redis under
// different prefixes never see each other's jobs; a jobs_stream set in the file still
// wins. Call before reading the file (`jobs_stream` is cleared to tell "set" from
// "default") and after it with `after_read`.
void follow_key_prefix(QueueConfig& c, const std::string& key_prefix, bool after_read);

}  // namespace ragd
