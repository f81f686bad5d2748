// Streamed answers: where an answer's parts go while it is computed, before the result.
//
// AnswerSink receives a computed answer's sources (once retrieval has found them, before the
// model starts) and the pieces of its text in order as the model writes them; the pieces
// handed on are always a prefix of the answer the computation returns. A request that
// streams gives the pipeline its sink (QueryRequest::sink).
//
// LiveAnswer is the sink of one shared computation (single flight): it keeps what has
// been published so far and hands it on to every subscriber, so a request that joins late
// first receives the sources and the text so far, then the rest as it comes. It also counts
// the requests waiting on the computation (streamed or not): when the last one leaves before
// the answer is complete (clients gone), abandoned() completes and the computation is
// cancelled, so the model call stops and nothing is cached.
//
// Thread-safety: AnswerSink implementations are called from any thread, one call at a time
// per sink (LiveAnswer serialises its subscribers' calls under its lock).
#pragma once

#include "ragd/retrieval/document.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ragd::orchestrator {

class AnswerSink {
 public:
  virtual ~AnswerSink() = default;
  virtual void sources(const std::vector<retrieval::Hit>& hits) = 0;
  virtual void delta(std::string_view text) = 0;
};

class LiveAnswer final : public AnswerSink {
 public:
  explicit LiveAnswer(const boost::asio::any_io_executor& ex) : abandoned_(ex, 1) {}

  void sources(const std::vector<retrieval::Hit>& hits) override;
  void delta(std::string_view text) override;

  // Hands `sink` what was published so far, then whatever comes next, until unsubscribe().
  void subscribe(std::shared_ptr<AnswerSink> sink);
  void unsubscribe(const std::shared_ptr<AnswerSink>& sink);

  // A request waits on the computation / stops waiting.
  void hold();
  void release();
  // The computation has its result: leaving waiters no longer abandon it.
  void finish();
  // Completes when the last waiter left before finish().
  boost::asio::awaitable<void> abandoned();

 private:
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> abandoned_;
  std::mutex mutex_;
  int waiters_ = 0;
  bool finished_ = false;
  bool have_sources_ = false;
  std::vector<retrieval::Hit> sources_;
  std::string text_;
  std::vector<std::shared_ptr<AnswerSink>> subscribers_;
};

}  // namespace ragd::orchestrator
