#include "query_handler.hpp"

#include "answer_events.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/http/api.hpp"
#include "ragd/orchestrator/pipeline.hpp"

#include <boost/asio/this_coro.hpp>

namespace ragd::http {

namespace asio = boost::asio;

// One query counted in flight; released when the last holder (the handler, or the
// producer of a streamed answer) lets go.
struct QueryHandler::Slot {
  std::atomic<int>& n;
  ~Slot() { n.fetch_sub(1); }
};

asio::awaitable<Response> QueryHandler::handle(Request req, std::string tenant) {
  if (!has_json_content_type(req)) {
    co_return Response::error(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto parsed = parse_query_body(req.body, query_);
  if (!parsed) co_return Response::error(parsed.error());
  auto q = std::move(*parsed);
  q.tenant = std::move(tenant);
  q.request_id = req.request_id;
  q.traceparent = req.trace.traceparent();
  // Named first: GCC 12 destroys temporaries built inside a co_await expression twice.
  std::unique_ptr<AnswerEventFormat> format = std::make_unique<QueryEvents>(req.request_id);
  std::function<Response(const orchestrator::QueryResult&)> render = [](const orchestrator::QueryResult& r) {
    return Response::json(200, render_query_result(r));
  };
  co_return co_await run(std::move(q), std::move(format), std::move(render));
}

asio::awaitable<Response> QueryHandler::run(orchestrator::QueryRequest q, std::unique_ptr<AnswerEventFormat> format,
                                            std::function<Response(const orchestrator::QueryResult&)> render) {
  if (in_flight_.fetch_add(1) >= server_.max_inflight) {
    in_flight_.fetch_sub(1);
    co_return format->error_response(make_error(Errc::overloaded, "too many queries in flight; retry later"));
  }
  auto slot = std::shared_ptr<Slot>(new Slot{in_flight_});
  q.deadline_unix_ms = unix_ms() + server_.request_timeout_ms;
  if (q.stream) {
    // The producer runs beside the connection, which writes its events as they come and
    // cancels it when the client goes away.
    auto out = std::make_shared<ResponseStream>(co_await asio::this_coro::executor, server_.max_stream_buffer_bytes,
                                                "text/event-stream");
    auto events = std::make_shared<StreamedAnswer>(out, std::move(format), q.request_id);
    q.sink = events;
    out->start(stream(pipeline_, std::move(q), std::move(events), std::move(slot)));
    Response r;
    r.stream = std::move(out);
    co_return r;
  }
  // The pipeline honours the deadline leg by leg; the route's backstop (gateway.cpp) is the
  // guard behind it.
  auto result = co_await pipeline_.run(std::move(q));
  if (!result) co_return format->error_response(result.error());
  co_return render(*result);
}

asio::awaitable<void> QueryHandler::stream(orchestrator::Pipeline& pipeline, orchestrator::QueryRequest q,
                                           std::shared_ptr<StreamedAnswer> events, std::shared_ptr<Slot> /*held until the end*/) {
  auto result = co_await pipeline.run(std::move(q));
  events->finish(result);
}

}  // namespace ragd::http
