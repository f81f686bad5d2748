#include "ragd/orchestrator/answer_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace ragd::orchestrator {

void LiveAnswer::sources(const std::vector<retrieval::Hit>& hits) {
  std::lock_guard lock(mutex_);
  if (have_sources_) return;
  have_sources_ = true;
  sources_ = hits;
  for (auto& s : subscribers_) s->sources(sources_);
}

void LiveAnswer::delta(std::string_view text) {
  std::lock_guard lock(mutex_);
  text_.append(text);
  for (auto& s : subscribers_) s->delta(text);
}

void LiveAnswer::subscribe(std::shared_ptr<AnswerSink> sink) {
  std::lock_guard lock(mutex_);
  if (have_sources_) sink->sources(sources_);
  if (!text_.empty()) sink->delta(text_);
  subscribers_.push_back(std::move(sink));
}

void LiveAnswer::unsubscribe(const std::shared_ptr<AnswerSink>& sink) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), sink), subscribers_.end());
}

void LiveAnswer::hold() {
  std::lock_guard lock(mutex_);
  ++waiters_;
}

void LiveAnswer::release() {
  std::lock_guard lock(mutex_);
  if (--waiters_ == 0 && !finished_) abandoned_.try_send(boost::system::error_code{});
}

void LiveAnswer::finish() {
  std::lock_guard lock(mutex_);
  finished_ = true;
}

boost::asio::awaitable<void> LiveAnswer::abandoned() {
  co_await abandoned_.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
}

}  // namespace ragd::orchestrator
