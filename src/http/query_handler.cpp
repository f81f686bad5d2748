#include "query_handler.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/http/api.hpp"
#include "ragd/orchestrator/pipeline.hpp"

namespace ragd::http {

namespace asio = boost::asio;

asio::awaitable<Response> QueryHandler::handle(Request req, std::string tenant) {
  if (!has_json_content_type(req)) {
    co_return Response::error(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto parsed = parse_query_body(req.body, query_);
  if (!parsed) co_return Response::error(parsed.error());
  if (in_flight_.fetch_add(1) >= server_.max_inflight) {
    in_flight_.fetch_sub(1);
    co_return Response::error(make_error(Errc::overloaded, "too many queries in flight; retry later"));
  }
  struct Release {
    std::atomic<int>& n;
    ~Release() { n.fetch_sub(1); }
  } release{in_flight_};
  auto q = std::move(*parsed);
  q.tenant = std::move(tenant);
  q.request_id = req.request_id;
  q.deadline_unix_ms = unix_ms() + server_.request_timeout_ms;
  // The pipeline honours the deadline leg by leg; the route's backstop (gateway.cpp) is the
  // guard behind it.
  auto result = co_await pipeline_.run(std::move(q));
  if (!result) co_return Response::error(result.error());
  co_return Response::json(200, render_query_result(*result));
}

}  // namespace ragd::http
