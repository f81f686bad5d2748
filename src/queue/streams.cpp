// Stream names per priority and the parsers of multi-stream replies (pure).
#include "ragd/queue/streams.hpp"
#include "queue/stream_impl.hpp"

namespace ragd::queue {

std::array<std::string, kPriorityCount> priority_streams(const QueueConfig& config) {
  return {config.jobs_stream, config.jobs_stream + ":refresh", config.jobs_stream + ":batch"};
}

std::string stream_for(const QueueConfig& config, Priority priority) {
  return priority_streams(config)[static_cast<std::size_t>(priority)];
}

std::string dead_letter_stream(const QueueConfig& config) { return config.jobs_stream + ":dead"; }

std::string cancel_stream(const QueueConfig& config) { return config.jobs_stream + ":cancel"; }

std::string workers_key(const QueueConfig& config) { return config.key_prefix + "workers"; }

std::string reply_stream(const QueueConfig& config, const std::string& gateway_id) {
  return config.key_prefix + "replies:" + gateway_id;
}

std::string reply_done_key(const QueueConfig& config, const std::string& job_id) {
  return config.key_prefix + "reply-done:" + job_id;
}

std::int64_t depth_bound(const QueueConfig& config, Priority priority) {
  switch (priority) {
    case Priority::refresh: return config.max_depth_refresh;
    case Priority::batch: return config.max_depth_batch;
    case Priority::interactive: break;
  }
  return config.max_depth;
}

const std::string* StreamRecord::field(const std::string& name) const {
  for (const auto& [k, v] : fields) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::vector<StreamBatch> parse_streams_read(redis::Reply&& reply) {
  std::vector<StreamBatch> out;
  if (!reply.is_array()) return out;
  for (auto& stream : reply.elements) {
    if (!stream.is_array() || stream.elements.size() != 2) continue;
    auto name = detail::take_string(stream.elements[0]);
    if (!name) continue;
    out.push_back({std::move(*name), detail::parse_entries(std::move(stream.elements[1]))});
  }
  return out;
}

std::vector<StreamBatch> parse_streams_read(const redis::Reply& reply) {
  return parse_streams_read(redis::Reply(reply));
}

std::optional<std::int64_t> parse_pending_deliveries(const redis::Reply& reply) {
  if (!reply.is_array() || reply.elements.empty()) return std::nullopt;
  const auto& first = reply.elements.front();
  if (!first.is_array() || first.elements.size() < 4) return std::nullopt;
  auto n = first.elements[3].as_integer();
  if (!n) return std::nullopt;
  return static_cast<std::int64_t>(*n);
}

std::vector<GroupConsumer> parse_group_consumers(const redis::Reply& reply) {
  std::vector<GroupConsumer> out;
  if (!reply.is_array()) return out;
  for (const auto& c : reply.elements) {
    if (!c.is_array()) continue;
    GroupConsumer consumer;
    bool named = false;
    for (std::size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      const auto key = c.elements[i].as_string();
      if (key == "name") {
        if (auto name = c.elements[i + 1].as_string()) {
          consumer.name = std::move(*name);
          named = true;
        }
      } else if (key == "pending") {
        consumer.pending = c.elements[i + 1].as_integer().value_or(0);
      }
    }
    if (named) out.push_back(std::move(consumer));
  }
  return out;
}

std::map<std::string, std::int64_t> parse_heartbeats(const redis::Reply& reply) {
  std::map<std::string, std::int64_t> out;
  if (!reply.is_array()) return out;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    auto name = reply.elements[i].as_string();
    auto score = reply.elements[i + 1].as_string();
    if (!name || !score) continue;
    try {
      out[std::move(*name)] = static_cast<std::int64_t>(std::stod(*score));
    } catch (const std::exception&) {
    }
  }
  return out;
}

}  // namespace ragd::queue
