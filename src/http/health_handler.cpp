#include "health_handler.hpp"

#include "ragd/queue/job_client.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/replication/replicator.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ragd::http {

namespace asio = boost::asio;
using nlohmann::json;

asio::awaitable<Response> HealthHandler::live(Request) { co_return Response::json(200, R"({"status":"ok"})"); }

asio::awaitable<Response> HealthHandler::ready(Request) {
  json checks = json::object();
  std::vector<std::string> reasons;
  redis::Command ping_cmd{"PING"};  // built outside co_await: GCC 12 and braced lists
  auto ping = co_await deps_.redis.command(std::move(ping_cmd), std::chrono::milliseconds(500));
  bool redis_ok = ping && !ping->is_error();
  checks["redis"] = redis_ok ? "ok" : "unreachable";
  if (!redis_ok) reasons.push_back("redis is unreachable");
  checks["index"] = {{"loaded", true}, {"chunks", deps_.retriever.chunk_count()}};
  std::int64_t workers = 0;
  if (redis_ok) {
    auto w = co_await deps_.jobs.live_workers();
    if (w) workers = *w;
  }
  checks["workers"] = workers;
  if (deps_.replicator) {
    const auto st = deps_.replicator->status();
    const char* state = st.diverged ? "diverged" : !st.caught_up ? "catching_up" : "ok";
    checks["replication"] = {{"state", state},
                             {"applied_sequence", st.applied_sequence},
                             {"stream_sequence", st.stream_sequence},
                             {"lag_entries", st.lag_entries},
                             {"lag_seconds", st.lag_seconds}};
    if (st.diverged) {
      reasons.push_back("replication diverged: " + st.reason + "; reseed this replica");
    } else if (!st.caught_up) {
      reasons.push_back("replication catching up: " + std::to_string(st.lag_entries) + " ingest stream entries behind");
    }
  } else {
    checks["replication"] = "off";
  }
  std::vector<std::string> warnings;
  if (workers < 1) {
    // With workers scaled to zero, queries wait in the queue until the autoscaler starts one.
    auto& missing = readiness_.require_workers ? reasons : warnings;
    missing.push_back("no worker heartbeat in the last " + std::to_string(queue_.worker_stale_ms) + " ms");
  }
  const bool stopping = deps_.stopping.load();
  bool ready = reasons.empty() && !stopping;
  if (stopping) reasons.push_back("shutting down");
  json j = {{"status", ready ? "ready" : "not_ready"}, {"checks", checks}};
  if (!ready) j["reasons"] = reasons;
  if (!warnings.empty()) j["warnings"] = warnings;
  co_return Response::json(ready ? 200 : 503, j.dump());
}

}  // namespace ragd::http
