#include "queue/job_answers.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/queue/streams.hpp"
#include "queue/stream_impl.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

namespace ragd::queue::detail {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFirstPause = 200ms;
constexpr auto kMaxPause = 1s;
constexpr auto kMinWriteRetry = 15s;
constexpr int kDeadLetterMax = 100000;  // approximate cap of the dead-letter stream

// KEYS[1] reply-done guard, KEYS[2] reply stream, KEYS[3] the job's stream; ARGV: guard ttl
// ms, reply, stream ttl ms, consumer group, entry id. The job is acknowledged and deleted in
// the same step as its reply: one round trip per job instead of two.
// Returns 1 when the reply was written, 0 when the job had been answered already.
constexpr const char* kReplyOnceScript =
    "local written = 0 "
    "if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then "
    "redis.call('XADD', KEYS[2], '*', 'reply', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[2], ARGV[3]) "
    "written = 1 end "
    "redis.call('XACK', KEYS[3], ARGV[4], ARGV[5]) "
    "redis.call('XDEL', KEYS[3], ARGV[5]) "
    "return written";

// Sends `commands` (one round trip) until Redis answers them, error replies included, or
// the retry time for a job with this deadline is spent. Empty when Redis never answered;
// each failed try is logged with `what`.
asio::awaitable<std::optional<std::vector<redis::Reply>>> until_answered(redis::Client& redis,
                                                                         std::vector<redis::Command> commands,
                                                                         std::int64_t deadline_unix_ms,
                                                                         const std::string& what) {
  const auto left = std::chrono::milliseconds(std::max<std::int64_t>(0, deadline_unix_ms - unix_ms()));
  const auto until = Clock::now() + std::max<std::chrono::milliseconds>(kMinWriteRetry, left);
  auto pause = std::chrono::milliseconds(kFirstPause);
  for (;;) {
    auto r = co_await redis.pipeline(commands);
    if (r) co_return std::move(*r);
    spdlog::warn("{}: {}", what, log_text(r.error()));
    if (Clock::now() + pause >= until) co_return std::nullopt;
    co_await sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, kMaxPause);
  }
}

// The first reply, when it is not an error (logged with `what`).
const redis::Reply* accepted(const std::optional<std::vector<redis::Reply>>& replies, const std::string& what) {
  if (!replies || replies->empty()) return nullptr;
  const redis::Reply& r = replies->front();
  if (r.is_error()) {
    spdlog::warn("{}: {}", what, r.str);
    return nullptr;
  }
  return &r;
}

}  // namespace

JobAnswers::JobAnswers(redis::Client& redis, const QueueConfig& config, const std::string& consumer)
    : redis_(redis), config_(config), consumer_(consumer), dead_stream_(dead_letter_stream(config)) {}

asio::awaitable<bool> JobAnswers::reply(std::string reply_stream, const JobReply& reply,
                                        std::int64_t deadline_unix_ms, std::string job_stream,
                                        std::string entry_id) {
  const std::int64_t guard_ttl =
      std::max<std::int64_t>(config_.reply_ttl_ms, deadline_unix_ms - unix_ms() + config_.reply_ttl_ms);
  std::vector<redis::Command> script;
  script.push_back(redis::make_command("EVAL", kReplyOnceScript, 3, reply_done_key(config_, reply.job_id),
                                       reply_stream, job_stream, guard_ttl, encode_reply(reply),
                                       config_.reply_ttl_ms, config_.group, entry_id));
  const std::string what = "worker " + consumer_ + " cannot write reply for job=" + reply.job_id;
  const auto replies = co_await until_answered(redis_, std::move(script), deadline_unix_ms, what);
  const redis::Reply* r = accepted(replies, what);
  if (r == nullptr) co_return false;
  if (r->as_integer().value_or(1) == 0) {
    spdlog::info("worker {} job={} was answered already; reply dropped", consumer_, reply.job_id);
  }
  co_return true;
}

asio::awaitable<bool> JobAnswers::refuse(const std::string& payload, const Error& error, std::string job_stream,
                                         std::string entry_id) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("reply_to") ||
      !j["reply_to"].is_string() || j["reply_to"].get<std::string>().empty()) {
    co_return false;
  }
  JobReply refusal;
  refusal.job_id = j["id"].get<std::string>();
  refusal.error_code = "bad_request";
  refusal.error_message = error.message;
  refusal.worker = consumer_;
  co_return co_await reply(j["reply_to"].get<std::string>(), refusal, 0, std::move(job_stream), std::move(entry_id));
}

asio::awaitable<bool> JobAnswers::dead_letter(std::string job_stream, std::string entry_id, std::string payload,
                                              std::string reason, std::int64_t deliveries) {
  std::vector<redis::Command> add;
  add.push_back(redis::make_command("XADD", dead_stream_, "MAXLEN", "~", kDeadLetterMax, "*", kJobField, payload,
                                    "reason", reason, "stream", job_stream, "entry_id", entry_id, "deliveries",
                                    deliveries, "consumer", consumer_, "failed_unix_ms", unix_ms()));
  const std::string what = "worker " + consumer_ + " cannot dead-letter entry=" + entry_id;
  co_return accepted(co_await until_answered(redis_, std::move(add), 0, what), what) != nullptr;
}

asio::awaitable<void> JobAnswers::acknowledge(std::string job_stream, std::string entry_id) {
  std::vector<redis::Command> ack;
  ack.push_back(redis::make_command("XACK", job_stream, config_.group, entry_id));
  ack.push_back(redis::make_command("XDEL", job_stream, entry_id));
  const std::string what = "worker " + consumer_ + " cannot acknowledge entry=" + entry_id;
  co_await until_answered(redis_, std::move(ack), 0, what);
}

}  // namespace ragd::queue::detail
