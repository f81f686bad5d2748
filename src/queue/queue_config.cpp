#include "ragd/queue/queue_config.hpp"

namespace ragd {

void describe(ConfigFields& f, QueueConfig& c) {
  f.field("jobs_stream", c.jobs_stream);
  f.field("group", c.group);
  f.field("max_depth", c.max_depth);
  f.field("max_depth_refresh", c.max_depth_refresh);
  f.field("max_depth_batch", c.max_depth_batch);
  f.field("max_wait_ms", c.max_wait_ms);
  f.field("max_attempts", c.max_attempts);
  f.field("reclaim_idle_ms", c.reclaim_idle_ms);
  f.field("reply_ttl_ms", c.reply_ttl_ms);
  f.field("delta_coalesce_ms", c.delta_coalesce_ms);
  f.field("heartbeat_interval_ms", c.heartbeat_interval_ms);
  f.field("worker_stale_ms", c.worker_stale_ms);
  f.field("compact_jobs", c.compact_jobs);
  f.check(c.max_depth > 0, "max_depth", "must be positive");
  f.check(c.max_wait_ms >= 0, "max_wait_ms", "must be 0 (off) or positive");
  f.check(c.max_depth_refresh > 0 && c.max_depth_batch > 0, "max_depth_refresh",
          "and 'max_depth_batch' must be positive");
  f.check(c.max_attempts >= 1 && c.max_attempts <= 100, "max_attempts", "must be 1..100");
  f.check(c.reclaim_idle_ms == 0 || c.reclaim_idle_ms >= 300, "reclaim_idle_ms", "must be 0 (off) or at least 300");
  f.check(c.delta_coalesce_ms >= 0 && c.delta_coalesce_ms <= 1000, "delta_coalesce_ms", "must be 0..1000");
  f.check(c.heartbeat_interval_ms > 0, "heartbeat_interval_ms", "must be positive");
  f.check(c.worker_stale_ms > 0, "worker_stale_ms", "must be positive");
}

void follow_key_prefix(QueueConfig& c, const std::string& key_prefix, bool after_read) {
  if (!after_read) {
    c.jobs_stream.clear();
    return;
  }
  c.key_prefix = key_prefix;
  if (c.jobs_stream.empty()) c.jobs_stream = key_prefix + "jobs";
}

}  // namespace ragd
