#include "ragd/http/response_stream.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace ragd::http {

namespace asio = boost::asio;

ResponseStream::ResponseStream(asio::any_io_executor ex, std::size_t max_buffered, std::string content_type)
    : ex_(ex), max_buffered_(max_buffered), content_type_(std::move(content_type)), bell_(ex, 1) {}

void ResponseStream::start(asio::awaitable<void> producer) {
  // The completion handler owns the stream, and with it the signal the producer is bound to.
  asio::co_spawn(ex_, std::move(producer),
                 asio::bind_cancellation_slot(cancel_.slot(), [self = shared_from_this()](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::debug("stream producer ended: {}", ex.what());
                     }
                   }
                   self->end();
                 }));
}

void ResponseStream::ring() { bell_.try_send(boost::system::error_code{}); }

bool ResponseStream::write(std::string_view bytes) {
  std::function<void()> cut;
  {
    std::lock_guard lock(mutex_);
    if (ended_ || overflowed_ || response_) return false;
    started_ = true;
    if (pending_.size() + bytes.size() > max_buffered_) {
      overflowed_ = true;
      cut = std::move(on_cut_);
    } else {
      pending_.append(bytes);
    }
  }
  ring();
  if (!cut) return true;
  asio::post(ex_, std::move(cut));
  return false;
}

void ResponseStream::on_cut(std::function<void()> on_cut) {
  std::lock_guard lock(mutex_);
  on_cut_ = std::move(on_cut);
}

void ResponseStream::end() {
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
  }
  ring();
}

void ResponseStream::respond(Response r) {
  {
    std::lock_guard lock(mutex_);
    if (started_ || ended_ || response_) return;
    response_ = std::move(r);
    ended_ = true;
  }
  ring();
}

bool ResponseStream::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

asio::awaitable<ResponseStream::Next> ResponseStream::next() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      Next n;
      if (overflowed_) {
        n.overflowed = n.ended = true;
        co_return n;
      }
      if (response_) {
        n.response = std::move(response_);
        response_.reset();
        n.ended = true;
        co_return n;
      }
      if (!pending_.empty() || ended_) {
        n.bytes.swap(pending_);
        n.ended = ended_;
        co_return n;
      }
    }
    co_await bell_.async_receive(asio::use_awaitable);
  }
}

void ResponseStream::cancel() {
  {
    std::lock_guard lock(mutex_);
    ended_ = true;
  }
  cancel_.emit(asio::cancellation_type::terminal);
}

}  // namespace ragd::http
