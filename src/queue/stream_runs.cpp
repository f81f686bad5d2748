#include "queue/stream_runs.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/queue/streams.hpp"
#include "queue/delta_writer.hpp"
#include "queue/stream_impl.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <unordered_map>

namespace ragd::queue::detail {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kRetryPause = 200ms;

// One streamed job running here: its handler runs on `strand`, where a cancel notice
// emits `cancel`.
struct Run {
  explicit Run(asio::any_io_executor ex) : strand(asio::make_strand(ex)) {}
  asio::strand<asio::any_io_executor> strand;
  asio::cancellation_signal cancel;
};

}  // namespace

// Streamed jobs by id; on the owner's strand only. Shared with the posts that update it.
struct StreamRuns::Table {
  std::unordered_map<std::string, std::shared_ptr<Run>> runs;
};

StreamRuns::StreamRuns(asio::any_io_executor ex, asio::strand<asio::any_io_executor> strand, redis::Client& redis,
                       const QueueConfig& config, const std::string& consumer)
    : ex_(std::move(ex)),
      strand_(std::move(strand)),
      redis_(redis),
      config_(config),
      consumer_(consumer),
      table_(std::make_shared<Table>()) {}

StreamRuns::~StreamRuns() = default;

asio::awaitable<JobReply> StreamRuns::run(const StreamJobHandler& handler, Job job) {
  auto run = std::make_shared<Run>(ex_);
  auto writer = std::make_shared<DeltaWriter>(run->strand, redis_, job.reply_to, job.id, config_.reply_ttl_ms,
                                              std::chrono::milliseconds(config_.delta_coalesce_ms));
  const std::string id = job.id;
  asio::post(strand_, [table = table_, id, run] { table->runs[id] = run; });
  DeltaPublisher publish = [writer](std::string_view text) { writer->publish(text); };
  auto op = handler(std::move(job), std::move(publish));
  auto [ep, reply] =
      co_await asio::co_spawn(run->strand, std::move(op), asio::bind_cancellation_slot(run->cancel.slot(), kNoThrow));
  asio::post(strand_, [table = table_, id] { table->runs.erase(id); });
  co_await writer->drain();
  if (ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;
      reply = JobReply{};
      reply.error_code = "cancelled";
      reply.error_message = "the asker went away";
    }
  }
  reply.run_id = writer->run_id();
  co_return reply;
}

asio::awaitable<void> StreamRuns::read_cancels(const std::atomic<bool>& stopping) {
  auto conn = redis_.dedicated_connection();
  const std::string stream = cancel_stream(config_);
  std::string last;
  const auto timeout = std::chrono::milliseconds(kBlockMs + redis_.config().command_timeout_ms);
  while (!stopping) {
    if (last.empty()) {
      auto r = co_await conn->command(redis::make_command("XREVRANGE", stream, "+", "-", "COUNT", 1));
      if (r && !r->is_error()) {
        auto entries = parse_entries(std::move(*r));
        last = entries.empty() ? "0-0" : entries.front().id;
      } else {
        co_await sleep_for(kRetryPause);
      }
      continue;
    }
    auto r = co_await conn->command(
        redis::make_command("XREAD", "COUNT", 256, "BLOCK", kBlockMs, "STREAMS", stream, last), timeout);
    if (stopping) break;
    if (!r || r->is_error()) {
      co_await sleep_for(kRetryPause);
      continue;
    }
    for (auto& e : parse_stream_read(std::move(*r))) {
      last = e.id;
      const std::string* job_id = e.field("job");
      if (job_id == nullptr) continue;
      auto it = table_->runs.find(*job_id);
      if (it == table_->runs.end()) continue;
      spdlog::info("worker {} cancelling job={}: its asker went away", consumer_, *job_id);
      asio::post(it->second->strand, [run = it->second] { run->cancel.emit(asio::cancellation_type::terminal); });
    }
  }
  conn->close();
}

}  // namespace ragd::queue::detail
