// `ragctl queue stats` and `ragctl queue dead-letters list|replay|drop`: read and repair the
// job queue in Redis directly, through the same client and stream layout the gateway and
// the workers use. A command-line tool: it runs one coroutine to completion and exits.
#include "ragctl_queue.hpp"

#include "ragctl_redis.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/core/trace.hpp"
#include "ragd/queue/job.hpp"
#include "ragd/queue/streams.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>

namespace ragctl {

namespace asio = boost::asio;
using nlohmann::json;
using ragd::redis::Reply;

namespace {

const char* kPriorityNames[ragd::queue::kPriorityCount] = {"interactive", "refresh", "batch"};

std::int64_t id_ms(const std::string& entry_id) {
  return std::atoll(entry_id.substr(0, entry_id.find('-')).c_str());
}

std::string str(const Reply& r) { return r.as_string().value_or(""); }

struct Ctx {
  ragd::redis::Client& redis;
  ragd::QueueConfig queue;
  bool as_json = false;
};

asio::awaitable<int> stats(Ctx& c) {
  json out = {{"streams", json::array()}};
  auto streams = ragd::queue::priority_streams(c.queue);
  for (int p = 0; p < ragd::queue::kPriorityCount; ++p) {
    std::vector<ragd::redis::Command> cmds{
        ragd::redis::make_command("XLEN", streams[p]),
        ragd::redis::make_command("XPENDING", streams[p], c.queue.group),
        ragd::redis::make_command("XRANGE", streams[p], "-", "+", "COUNT", "1")};
    auto r = co_await c.redis.pipeline(std::move(cmds));
    if (!r) {
      std::cerr << "ragctl: " << ragd::log_text(r.error()) << "\n";
      co_return 1;
    }
    const auto& replies = *r;
    json s = {{"priority", kPriorityNames[p]}, {"stream", streams[p]}, {"length", replies[0].integer}};
    json consumers = json::object();
    std::int64_t pending = 0;
    if (replies[1].is_array() && replies[1].elements.size() >= 4) {
      pending = replies[1].elements[0].integer;
      for (const auto& pair : replies[1].elements[3].elements) {
        if (pair.elements.size() == 2) consumers[str(pair.elements[0])] = std::atoll(str(pair.elements[1]).c_str());
      }
    }
    s["pending"] = pending;
    s["waiting"] = std::max<std::int64_t>(0, replies[0].integer - pending);
    s["pending_per_consumer"] = consumers;
    s["oldest_age_ms"] = nullptr;
    if (replies[2].is_array() && !replies[2].elements.empty() && !replies[2].elements[0].elements.empty()) {
      s["oldest_age_ms"] = ragd::unix_ms() - id_ms(str(replies[2].elements[0].elements[0]));
    }
    out["streams"].push_back(s);
  }
  auto dead = co_await c.redis.command(ragd::redis::make_command("XLEN", ragd::queue::dead_letter_stream(c.queue)));
  auto workers = co_await c.redis.command(ragd::redis::make_command("ZRANGE", ragd::queue::workers_key(c.queue), "0", "-1", "WITHSCORES"));
  out["dead_letters"] = dead ? dead->integer : -1;
  json ws = json::object();
  if (workers && workers->is_array()) {
    for (std::size_t i = 0; i + 1 < workers->elements.size(); i += 2) {
      ws[str(workers->elements[i])] = ragd::unix_ms() - std::atoll(str(workers->elements[i + 1]).c_str());
    }
  }
  out["workers_last_heartbeat_ms_ago"] = ws;
  if (c.as_json) {
    std::cout << out.dump(2) << "\n";
    co_return 0;
  }
  std::printf("%-12s %8s %8s %8s %14s\n", "priority", "length", "waiting", "pending", "oldest age ms");
  for (const auto& s : out["streams"]) {
    std::printf("%-12s %8lld %8lld %8lld %14s\n", s["priority"].get<std::string>().c_str(),
                s["length"].get<long long>(), s["waiting"].get<long long>(), s["pending"].get<long long>(),
                s["oldest_age_ms"].is_null() ? "-" : std::to_string(s["oldest_age_ms"].get<long long>()).c_str());
    for (auto it = s["pending_per_consumer"].begin(); it != s["pending_per_consumer"].end(); ++it) {
      std::printf("  pending at %s: %lld\n", it.key().c_str(), it.value().get<long long>());
    }
  }
  std::printf("dead letters: %lld\n", out["dead_letters"].get<long long>());
  for (auto it = ws.begin(); it != ws.end(); ++it) {
    std::printf("worker %s: last heartbeat %lld ms ago\n", it.key().c_str(), it.value().get<long long>());
  }
  co_return 0;
}

json record_json(const ragd::queue::StreamRecord& r) {
  json j = {{"entry_id", r.id}};
  for (const auto& [k, v] : r.fields) {
    if (k == "job") {
      auto job = ragd::queue::decode_job(v);
      if (job) {
        j["job_id"] = job->id;
        j["question"] = job->question;
        j["request_id"] = job->request_id;
        if (auto trace = ragd::parse_traceparent(job->traceparent)) j["trace_id"] = trace->trace_id;
      }
    } else {
      j[k] = v;
    }
  }
  return j;
}

asio::awaitable<std::vector<ragd::queue::StreamRecord>> read_dead(Ctx& c, const std::string& from,
                                                                  const std::string& to, int count) {
  auto r = co_await c.redis.command(ragd::redis::make_command(
      "XRANGE", ragd::queue::dead_letter_stream(c.queue), from, to, "COUNT", std::to_string(count)));
  std::vector<ragd::queue::StreamRecord> out;
  if (!r || !r->is_array()) co_return out;
  // XRANGE returns [[id, [field, value, ...]], ...]: reuse the XREAD parser's shape.
  Reply wrapped;
  wrapped.kind = Reply::Kind::array;
  Reply stream;
  stream.kind = Reply::Kind::array;
  Reply name;
  name.kind = Reply::Kind::string;
  name.str = ragd::queue::dead_letter_stream(c.queue);
  stream.elements = {name, *r};
  wrapped.elements = {stream};
  auto batches = ragd::queue::parse_streams_read(wrapped);
  if (!batches.empty()) out = std::move(batches[0].records);
  co_return out;
}

asio::awaitable<int> dead_letters(Ctx& c, const std::vector<std::string>& args, const ragd::ParsedFlags& flags) {
  const std::string action = args.size() > 2 ? args[2] : "list";
  const std::string dead = ragd::queue::dead_letter_stream(c.queue);
  if (action == "list") {
    int limit = std::atoi(flags.get("limit").value_or("20").c_str());
    auto records = co_await read_dead(c, "-", "+", std::max(1, limit));
    json out = json::array();
    for (const auto& r : records) out.push_back(record_json(r));
    if (c.as_json) {
      std::cout << out.dump(2) << "\n";
    } else {
      if (out.empty()) std::cout << "no dead letters\n";
      for (const auto& j : out) {
        std::cout << j.value("entry_id", "") << "  job=" << j.value("job_id", "?") << "  reason=" << j.value("reason", "")
                  << "\n    question: " << j.value("question", "").substr(0, 120) << "\n";
      }
    }
    co_return 0;
  }
  if (action != "replay" && action != "drop") {
    std::cerr << "ragctl: queue dead-letters takes list, replay ENTRY_ID|--all or drop ENTRY_ID|--all\n";
    co_return 2;
  }
  const bool all = flags.has("all");
  if (!all && args.size() < 4) {
    std::cerr << "ragctl: queue dead-letters " << action << " needs an ENTRY_ID or --all\n";
    co_return 2;
  }
  std::vector<ragd::queue::StreamRecord> records;
  if (all) {
    records = co_await read_dead(c, "-", "+", 100000);
  } else {
    records = co_await read_dead(c, args[3], args[3], 1);
    if (records.empty()) {
      std::cerr << "ragctl: no dead letter " << args[3] << "\n";
      co_return 1;
    }
  }
  const auto deadline_ms = std::atoll(flags.get("deadline-ms").value_or("60000").c_str());
  int done = 0;
  for (const auto& r : records) {
    if (action == "replay") {
      const std::string* payload = r.field("job");
      auto job = payload ? ragd::queue::decode_job(*payload) : ragd::Result<ragd::queue::Job>(ragd::make_error(ragd::Errc::bad_request, "no job field"));
      if (!job) {
        std::cerr << "ragctl: " << r.id << " cannot be replayed: " << ragd::log_text(job.error()) << "\n";
        continue;
      }
      // A fresh deadline and attempt count: the job runs again as if new.
      job->deadline_unix_ms = ragd::unix_ms() + deadline_ms;
      job->attempt = 0;
      const std::string* stream = r.field("stream");
      auto target = stream && !stream->empty() ? *stream : ragd::queue::stream_for(c.queue, job->priority);
      auto add = co_await c.redis.command(ragd::redis::make_command("XADD", target, "*", "job", ragd::queue::encode_job(*job)));
      if (!add || add->is_error()) {
        std::cerr << "ragctl: replay of " << r.id << " failed\n";
        continue;
      }
    }
    co_await c.redis.command(ragd::redis::make_command("XDEL", dead, r.id));
    ++done;
  }
  std::cout << (action == "replay" ? "replayed " : "dropped ") << done << " dead letter(s)\n";
  co_return done == static_cast<int>(records.size()) ? 0 : 1;
}

}  // namespace

int cmd_queue(const ragd::ParsedFlags& flags) {
  const auto& args = flags.positional;  // "queue", subcommand, ...
  if (args.size() < 2) {
    std::cerr << "ragctl: queue needs stats or dead-letters (see --help)\n";
    return 2;
  }
  const ragd::RedisConfig redis_config = redis_config_from(flags);
  ragd::QueueConfig queue_config;
  if (flags.get("key-prefix")) {
    queue_config.key_prefix = redis_config.key_prefix;
    queue_config.jobs_stream = redis_config.key_prefix + "jobs";
  }
  return run_with_redis(redis_config, "queue command", [&](ragd::redis::Client& redis) -> asio::awaitable<int> {
    Ctx ctx{redis, queue_config, flags.has("json")};
    if (args[1] == "stats") co_return co_await stats(ctx);
    if (args[1] == "dead-letters") co_return co_await dead_letters(ctx, args, flags);
    std::cerr << "ragctl: unknown queue command '" << args[1] << "' (see --help)\n";
    co_return 2;
  });
}

}  // namespace ragctl
