#include "chat_handler.hpp"

#include "answer_events.hpp"
#include "query_handler.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/http/chat_api.hpp"

#include <algorithm>

namespace ragd::http {

namespace asio = boost::asio;

namespace {

// OpenAI's chunks: the first carries the role and ragd's sources, the last the finish reason
// and ragd's cache status and timings, then the usage chunk when asked for and [DONE].
class ChatChunks final : public AnswerEventFormat {
 public:
  ChatChunks(ChatIdentity id, bool include_usage) : id_(std::move(id)), include_usage_(include_usage) {}
  std::string sources(std::string_view sources_json) override {
    return chat_chunk_first(id_, sources_json, include_usage_);
  }
  std::string delta(std::string_view text) override { return chat_chunk_delta(id_, text, include_usage_); }
  std::string done(const orchestrator::QueryResult& r, const AnswerParts& parts) override {
    return chat_chunk_last(id_, r, parts, include_usage_);
  }
  std::string error(const Error& e) override { return chat_chunk_error(e); }

 private:
  ChatIdentity id_;
  bool include_usage_;
};

}  // namespace

asio::awaitable<Response> ChatHandler::complete(Request req, std::string tenant) {
  if (!has_json_content_type(req)) {
    co_return Response::error(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto parsed = parse_chat_body(req.body, query_);
  if (!parsed) co_return Response::error(parsed.error());
  if (std::find(models_.begin(), models_.end(), parsed->model) == models_.end()) {
    co_return Response::json(404, model_not_found_body(parsed->model));
  }
  ChatIdentity id{"chatcmpl-" + req.request_id, unix_ms() / 1000, parsed->model};
  auto q = std::move(parsed->query);
  q.tenant = std::move(tenant);
  q.request_id = req.request_id;
  q.traceparent = req.trace.traceparent();
  // Named first: GCC 12 destroys temporaries built inside a co_await expression twice.
  std::unique_ptr<AnswerEventFormat> format = std::make_unique<ChatChunks>(id, parsed->include_usage);
  std::function<Response(const orchestrator::QueryResult&)> render = [id](const orchestrator::QueryResult& r) {
    return Response::json(200, render_chat_completion(id, r, answer_parts(r)));
  };
  co_return co_await queries_.run(std::move(q), std::move(format), std::move(render));
}

asio::awaitable<Response> ChatHandler::models(Request, std::string) {
  co_return Response::json(200, render_models(models_));
}

}  // namespace ragd::http
