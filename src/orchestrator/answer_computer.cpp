#include "ragd/orchestrator/answer_computer.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/stage_metrics.hpp"

#include <algorithm>

namespace ragd::orchestrator {

namespace {

Errc errc_from_reply_code(const std::string& code) {
  if (code == "deadline_exceeded") return Errc::deadline_exceeded;
  if (code == "overloaded" || code == "rate_limited") return Errc::overloaded;
  return Errc::upstream_error;
}

}  // namespace

AnswerComputer::AnswerComputer(Retrieval& retrieval, LlmJobs& jobs, StageMetrics& stages, std::string model,
                               int retrieval_timeout_ms)
    : retrieval_(retrieval), jobs_(jobs), stages_(stages), model_(std::move(model)),
      retrieval_timeout_ms_(retrieval_timeout_ms) {}

boost::asio::awaitable<Result<QueryResult>> AnswerComputer::run(Computation c) {
  QueryResult out;
  out.model = model_;
  double t0 = mono_ms();
  auto found = co_await retrieval_.retrieve(c.tenant, c.query, c.top_k, c.mode,
                                            time_left(c.deadline_unix_ms, retrieval_timeout_ms_), c.filter);
  out.timings.retrieve = mono_ms() - t0;
  stages_.retrieve.observe(out.timings.retrieve);
  if (!found) co_return found.error();
  out.sources = std::move(found->hits);
  if (found->degraded) out.retrieval_degraded = found->degraded_reason.empty() ? "unknown" : found->degraded_reason;
  if (c.sink) c.sink->sources(out.sources);
  for (const auto& h : out.sources) c.prompt.passages.push_back({h.doc_id, h.chunk_id, h.title, h.text, h.score});

  queue::Job job;
  job.id = random_id();
  job.deadline_unix_ms = c.deadline_unix_ms;
  job.priority = c.priority;
  job.tenant = c.tenant;
  job.request_id = c.request_id;
  job.traceparent = c.traceparent;
  job.model = model_;
  if (c.max_tokens > 0) job.max_tokens = c.max_tokens;
  if (c.temperature >= 0) job.temperature = c.temperature;
  job.question = c.query;
  job.messages = build_prompt(c.prompt);
  job.passages = std::move(c.prompt.passages);
  job.enqueued_unix_ms = unix_ms();
  double t_queue = mono_ms();
  Result<queue::JobReply> reply = make_error(Errc::internal, "no reply");
  if (c.sink) {
    // Named first: GCC 12 destroys a lambda built inside a co_await expression twice.
    LlmJobs::DeltaHandler on_delta = [sink = c.sink](std::string_view d) { sink->delta(d); };
    reply = co_await jobs_.submit_stream(std::move(job), std::move(on_delta));
  } else {
    reply = co_await jobs_.submit(std::move(job));
  }
  double waited = mono_ms() - t_queue;
  if (!reply) co_return reply.error();
  if (!reply->ok) {
    co_return make_error(errc_from_reply_code(reply->error_code), "the model call failed: " + reply->error_message);
  }
  out.answer = std::move(reply->text);
  if (!reply->model.empty()) out.model = reply->model;
  out.prompt_tokens = reply->prompt_tokens;
  out.completion_tokens = reply->completion_tokens;
  out.timings.llm = reply->llm_ms;
  out.timings.queue_wait = std::max(0.0, waited - reply->llm_ms);
  stages_.queue_wait.observe(out.timings.queue_wait);
  // The part of queue_wait before a worker took the job (the worker's clock against ours),
  // and the part of that before Redis had it (Redis's clock against ours): pickup minus
  // enqueue is the time in the stream, which grows when the workers are short.
  stages_.queue_pickup.observe(reply->queue_wait_ms);
  if (reply->enqueue_ms >= 0) stages_.queue_enqueue.observe(reply->enqueue_ms);
  stages_.llm.observe(out.timings.llm);
  co_return out;
}

}  // namespace ragd::orchestrator
