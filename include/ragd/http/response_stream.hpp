// A response whose body is written while it is produced (server-sent events). A handler
// returns a Response whose `stream` is set and starts the producer with start(); the server
// writes the head once the first bytes arrive (chunked for HTTP/1.1, close-delimited for
// 1.0) and the bytes as they come, without ever blocking a thread on the client.
//
// Until the producer writes its first bytes it may still answer with an ordinary response
// (respond(): a JSON error with its status), so errors known before the stream starts keep
// their HTTP status.
//
// Bounds: the bytes written but not yet sent are limited to `max_buffered` (a client that
// reads slower than the answer comes); past it the stream is cut: write() returns false,
// the server cancels the producer and closes the connection. The connection's kernel send
// buffer is set to the same size while it streams (it would otherwise grow to megabytes
// for a client that does not read), so a stream holds at most about three times it. A client that hangs up, or the
// route's backstop, cancels the producer the same way, within one turn of the event loop.
//
// Thread-safety: write(), end(), respond() and started() may be called from any thread;
// start(), next() and cancel() run on the connection's executor (its strand).
#pragma once

#include "ragd/http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ragd::http {

class ResponseStream : public std::enable_shared_from_this<ResponseStream> {
 public:
  ResponseStream(boost::asio::any_io_executor ex, std::size_t max_buffered,
                 std::string content_type = "text/event-stream");

  const std::string& content_type() const { return content_type_; }
  std::size_t max_buffered() const { return max_buffered_; }

  // Runs `producer` on the stream's executor, cancelled by cancel(). The stream ends when it
  // returns, whether or not it called end().
  void start(boost::asio::awaitable<void> producer);

  // Producer side. False once the stream is over (ended, cut for a slow reader, cancelled):
  // nothing more will be sent.
  bool write(std::string_view bytes);
  void end();
  // Before any write(): answer with `r` instead of a stream. Ignored after one.
  void respond(Response r);
  bool started() const;

  // Server side: what to send next, waiting for it.
  struct Next {
    std::string bytes;                 // to send (may be empty when ended or cut)
    std::optional<Response> response;  // the producer answered without a stream
    bool ended = false;                // nothing follows `bytes`
    bool overflowed = false;           // cut: the buffer bound was passed
  };
  boost::asio::awaitable<Next> next();
  // Runs `on_cut` on the stream's executor when the buffer bound is passed (once), so that a
  // write blocked on the slow client can be abandoned at once.
  void on_cut(std::function<void()> on_cut);
  // Stops the producer (the client went away, or the stream was cut).
  void cancel();

 private:
  void ring();

  boost::asio::any_io_executor ex_;
  std::size_t max_buffered_;
  std::string content_type_;
  boost::asio::cancellation_signal cancel_;
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> bell_;
  mutable std::mutex mutex_;
  std::string pending_;
  std::optional<Response> response_;
  std::function<void()> on_cut_;
  bool started_ = false;
  bool ended_ = false;
  bool overflowed_ = false;
};

}  // namespace ragd::http
