#include "hangup_watch.hpp"

#include <boost/asio/post.hpp>

namespace ragd::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void HangupWatch::start(const std::shared_ptr<HangupWatch>& self, tcp::socket& socket,
                        std::chrono::milliseconds limit) {
  const std::uint64_t gen = ++generation_;
  active_ = true;
  peeking_ = false;
  timed_out_ = hung_up_ = false;
  // The peek is armed from the strand's queue, after the handler first yields: a handler
  // that finishes without waiting for anything (a cached answer) costs no peek at all,
  // where an immediate one was a failed recv per request.
  asio::post(socket.get_executor(), [self, gen, &socket] {
    if (!self->current(gen)) return;  // the handler is done; `socket` is not touched
    self->peeking_ = true;
    socket.async_receive(asio::buffer(&self->peeked_, 1), tcp::socket::message_peek,
                         [self, gen](const boost::system::error_code& ec, std::size_t n) {
                           if (!self->current(gen) || ec == asio::error::operation_aborted) return;
                           // Bytes of a pipelined request are not a hang-up: stop watching.
                           if (!ec && n > 0) return;
                           self->hung_up_ = true;
                           self->signal_.emit(asio::cancellation_type::terminal);
                         });
  });
  if (limit > std::chrono::milliseconds::zero()) {
    backstop_.expires_after(limit);
    backstop_.async_wait([self, gen](const boost::system::error_code& ec) {
      if (ec || !self->current(gen)) return;
      self->timed_out_ = true;
      self->signal_.emit(asio::cancellation_type::terminal);
    });
  }
}

void HangupWatch::stop(tcp::socket& socket) {
  active_ = false;
  if (peeking_) {
    boost::system::error_code ignored;
    socket.cancel(ignored);
    peeking_ = false;
  }
  backstop_.cancel();
}

}  // namespace ragd::http
