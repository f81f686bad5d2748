// A streamed answer on the wire. StreamedAnswer is the pipeline's sink for one request: it
// writes what the pipeline hands on (sources, the answer's pieces) into the request's
// ResponseStream as events of one format, and ends the stream with the result: the part of
// the answer not handed on yet (a cached or rule answer comes whole), then the closing event;
// or the error, as an ordinary response when nothing was sent yet (so it keeps its status),
// else as an error event.
//
// Formats: QueryEvents (POST /query with "stream": true: events sources, delta, done, error)
// and the OpenAI chunks of /v1/chat/completions (chat_api.hpp).
//
// Thread-safety: the sink's calls come from any thread, one at a time; finish() after the
// pipeline returned.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/http/answer_body.hpp"
#include "ragd/http/response_stream.hpp"
#include "ragd/orchestrator/answer_sink.hpp"
#include "ragd/orchestrator/query.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ragd::http {

class AnswerEventFormat {
 public:
  virtual ~AnswerEventFormat() = default;
  virtual std::string sources(std::string_view sources_json) = 0;
  virtual std::string delta(std::string_view text) = 0;
  // The closing event(s).
  virtual std::string done(const orchestrator::QueryResult& r, const AnswerParts& parts) = 0;
  virtual std::string error(const Error& e) = 0;
  // The answer for an error before the stream started.
  virtual Response error_response(const Error& e) { return Response::error(e); }
};

// text/event-stream for /query: `event: sources|delta|done|error` with one JSON object each.
class QueryEvents final : public AnswerEventFormat {
 public:
  explicit QueryEvents(std::string request_id) : request_id_(std::move(request_id)) {}
  std::string sources(std::string_view sources_json) override;
  std::string delta(std::string_view text) override;
  std::string done(const orchestrator::QueryResult& r, const AnswerParts& parts) override;
  std::string error(const Error& e) override;

 private:
  std::string request_id_;
};

class StreamedAnswer final : public orchestrator::AnswerSink {
 public:
  StreamedAnswer(std::shared_ptr<ResponseStream> out, std::unique_ptr<AnswerEventFormat> format,
                 std::string request_id)
      : out_(std::move(out)), format_(std::move(format)), request_id_(std::move(request_id)) {}

  void sources(const std::vector<retrieval::Hit>& hits) override;
  void delta(std::string_view text) override;
  void finish(const Result<orchestrator::QueryResult>& result);

 private:
  std::mutex mutex_;
  std::shared_ptr<ResponseStream> out_;
  std::unique_ptr<AnswerEventFormat> format_;
  std::string request_id_;
  bool sources_sent_ = false;
  std::string sent_;  // the answer's text handed on so far
};

}  // namespace ragd::http
