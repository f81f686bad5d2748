#include "ragd/queue/job_stream.hpp"

#include <charconv>

namespace ragd::queue {

redis::Command delta_command(const std::string& reply_stream, const JobDelta& delta) {
  return redis::make_command("XADD", reply_stream, "*", kDeltaField, delta.job_id, "run", delta.run_id, "seq",
                             delta.seq, "text", delta.text);
}

std::optional<JobDelta> parse_delta(StreamRecord&& entry) {
  JobDelta d;
  bool has_job = false, has_run = false, has_seq = false, has_text = false;
  for (auto& [name, value] : entry.fields) {
    if (name == kDeltaField) {
      d.job_id = std::move(value);
      has_job = true;
    } else if (name == "run") {
      d.run_id = std::move(value);
      has_run = true;
    } else if (name == "seq") {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), d.seq);
      has_seq = ec == std::errc() && end == value.data() + value.size() && d.seq > 0;
    } else if (name == "text") {
      d.text = std::move(value);
      has_text = true;
    }
  }
  if (!has_job || !has_run || !has_seq || !has_text || d.job_id.empty()) return std::nullopt;
  return d;
}

redis::Command cancel_command(const QueueConfig& config, const std::string& job_id) {
  return redis::make_command("XADD", cancel_stream(config), "MAXLEN", "~", kCancelStreamMax, "*", "job", job_id);
}

}  // namespace ragd::queue
