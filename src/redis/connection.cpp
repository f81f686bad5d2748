// One pipelined Redis connection on an Asio socket (TCP or unix), driven by coroutines on the
// connection's strand.
//
// Invariants, all guarded by the strand:
//  - `waiters_` holds one entry per queued request, in the order its bytes were queued in
//    `wqueue_`, so the n-th reply read belongs to the front waiter (RESP is strictly FIFO).
//  - Waiters are shared: a caller that is cancelled abandons its waiter, which stays in
//    `waiters_` so that its reply, when it comes, is read and dropped (the FIFO stays
//    aligned and no reply can reach the wrong caller), and the connection stays up for
//    everyone else.
//  - A waiter whose request timed out is different: Redis may be stuck, so the connection
//    is failed and every queued request with it.
//
// A command is a plain asynchronous operation, not a coroutine spawned on the strand: the
// caller's completion handler waits in its Waiter and is posted back to the caller's
// executor with the replies. One timer per connection, set to the earliest deadline of the
// waiting commands, stands in for a timer per command.
//
// The file is one class (Connection::Impl, about 420 of its 510 lines) and stays whole:
// connecting, writing, reading, the deadline timer and cancellation all keep the invariants
// above on the same strand-guarded queues, and they are checked by reading them together.
#include "ragd/redis/client.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/core/io_context.hpp"
#include "redis/protocol_impl.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <deque>

namespace ragd::redis {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kBackoffMin = 50ms;
constexpr std::chrono::milliseconds kBackoffMax = 2s;
// Room for a worker's whole batch of jobs (about 5 KB each) in one recv: with 16 KiB a
// batch took several reads.
constexpr std::size_t kReadChunk = 64 * 1024;

Error unavailable(std::string why) { return make_error(Errc::unavailable, std::move(why)); }

// ASCII case-insensitive equality; `upper` is already in capitals.
bool equals_upper(std::string_view s, std::string_view upper) {
  if (s.size() != upper.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

// Commands that may wait on the server and consume data when they return. Runs for every
// command, so it compares in place instead of upper-casing copies.
bool is_blocking(const Command& cmd) {
  if (cmd.empty()) return false;
  const std::string_view name = cmd[0];
  for (std::string_view b : {"BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX",
                             "BZMPOP", "WAIT"}) {
    if (equals_upper(name, b)) return true;
  }
  if (equals_upper(name, "XREAD") || equals_upper(name, "XREADGROUP")) {
    // Arguments before STREAMS are options; what follows are keys and ids.
    for (std::size_t i = 1; i < cmd.size() && !equals_upper(cmd[i], "STREAMS"); ++i) {
      if (equals_upper(cmd[i], "BLOCK")) return true;
    }
  }
  return false;
}

}  // namespace

struct Connection::Impl : HandlerKeeper, std::enable_shared_from_this<Connection::Impl> {
  using Strand = asio::strand<asio::any_io_executor>;
  using Socket = asio::generic::stream_protocol::socket;
  using Clock = std::chrono::steady_clock;

  using Replies = Result<std::vector<Reply>>;
  using Completion = asio::any_completion_handler<void(Replies)>;

  struct Waiter {
    std::size_t expected = 1;
    std::vector<Reply> replies;
    bool blocking = false;  // BLPOP, XREAD ... BLOCK: abandoning closes the connection
    Clock::time_point deadline = Clock::time_point::max();
    // The caller's handler, until it is answered (replies, error, timeout or cancellation);
    // a waiter without one only has its replies read and dropped. Boost 1.81's
    // any_completion_handler must not be move-assigned, hence the pointer.
    std::unique_ptr<Completion> handler;
    asio::any_io_executor handler_ex;  // tracks work, so the caller's context stays alive
  };

  enum class State { disconnected, connecting, connected };

  Impl(asio::any_io_executor ex, RedisConfig config)
      : strand_(asio::make_strand(ex)), config_(std::move(config)) {
    auto ep = parse_url(config_.url);
    if (ep) {
      endpoint_ = *ep;
    } else {
      url_error_ = ep.error();
    }
  }

  // Entry point from any thread. The waiter is queued on the strand; the caller's
  // cancellation is posted there after it, so it always finds the waiter queued (or answered).
  static asio::awaitable<Replies> run(std::shared_ptr<Impl> self, std::string payload, std::size_t count,
                                      Clock::time_point deadline, bool blocking) {
    auto initiate = [self](auto handler, std::string payload, std::size_t count, Clock::time_point deadline,
                           bool blocking) {
      auto w = std::make_shared<Waiter>();
      w->expected = count;
      w->blocking = blocking;
      w->deadline = deadline;
      w->handler_ex = asio::prefer(asio::get_associated_executor(handler, self->strand_),
                                   asio::execution::outstanding_work.tracked);
      // Type-erased first: any_completion_handler installs its own forwarding state in the
      // caller's slot, so ours goes into the slot it exposes.
      w->handler = std::make_unique<Completion>(std::move(handler));
      auto slot = asio::get_associated_cancellation_slot(*w->handler);
      if (slot.is_connected()) {
        slot.assign([self, weak = std::weak_ptr<Waiter>(w)](asio::cancellation_type type) {
          if (type == asio::cancellation_type::none) return;
          asio::post(self->strand_, [self, weak] {
            if (auto waiter = weak.lock()) self->abandon(waiter);
          });
        });
      }
      asio::dispatch(self->strand_, [self, w = std::move(w), payload = std::move(payload)]() mutable {
        self->enqueue(std::move(w), std::move(payload));
      });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(Replies)>(
        std::move(initiate), asio::use_awaitable, std::move(payload), count, deadline, blocking);
  }

  // Answers the caller once (later answers are ignored), on the caller's own executor.
  void answer(const std::shared_ptr<Waiter>& w, Replies r) {
    if (!w->handler) return;
    auto handler = std::move(w->handler);
    auto ex = std::move(w->handler_ex);
    asio::post(ex, [h = std::move(handler), r = std::move(r)]() mutable {
      asio::get_associated_cancellation_slot(*h).clear();
      (std::move(*h))(std::move(r));
    });
  }

  void enqueue(std::shared_ptr<Waiter> w, std::string payload) {
    if (closed_) return answer(w, make_error(Errc::cancelled, "redis connection closed"));
    if (url_error_) return answer(w, *url_error_);
    if (state_ == State::disconnected) {
      if (Clock::now() < retry_at_) return answer(w, unavailable("redis unavailable (reconnecting)"));
      start_connect();
    }
    wqueue_.push_back(std::move(payload));
    arm_deadline(w->deadline);
    waiters_.push_back(std::move(w));
    if (state_ == State::connected) kick_writer();
  }

  void abandon(const std::shared_ptr<Waiter>& w) {
    if (!w->handler) return;  // answered already
    answer(w, make_error(Errc::cancelled, "redis command cancelled"));
    if (w->blocking) {
      // A blocking command left on the wire could still consume data (a popped element)
      // whose reply nobody reads: close the connection so the server drops the command.
      std::erase(waiters_, w);
      fail_connection(unavailable("redis connection reset after a cancelled blocking command"));
    }
    // Otherwise it stays queued: its reply is read and dropped when it comes.
  }

  // The timer is kept at (or before) the earliest deadline of a waiting command, and only
  // moved earlier; when it fires, the late commands fail and it moves on to the next one.
  void arm_deadline(Clock::time_point d) {
    if (armed_ && *armed_ <= d) return;
    armed_ = d;
    deadline_timer_.expires_at(d);
    deadline_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;  // moved or cancelled
      if (auto self = weak.lock()) self->on_deadline();
    });
  }

  void disarm_deadline() {
    if (!armed_) return;
    armed_.reset();
    deadline_timer_.cancel();
  }

  void on_deadline() {
    armed_.reset();
    const auto now = Clock::now();
    bool late = false;
    std::optional<Clock::time_point> next;
    for (const auto& w : waiters_) {
      if (!w->handler) continue;
      if (w->deadline <= now) {
        answer(w, make_error(Errc::deadline_exceeded, "redis command timed out"));
        late = true;
      } else if (!next || w->deadline < *next) {
        next = w->deadline;
      }
    }
    if (late) {
      // The request may be on the wire and Redis may be stuck: the connection is dropped and
      // everyone else queued on it fails.
      fail_connection(unavailable("redis connection reset after a command timed out"));
      return;
    }
    if (next) arm_deadline(*next);
  }

  void start_connect() {
    state_ = State::connecting;
    healthy_ = false;
    reader_.reset();
    socket_ = std::make_shared<Socket>(strand_);
    // AUTH and SELECT go first on the wire, ahead of every queued command.
    handshake_ = std::make_shared<Waiter>();
    handshake_->expected = 0;
    std::string hello;
    if (!endpoint_.password.empty()) {
      Command auth = {"AUTH"};
      if (!endpoint_.username.empty()) auth.push_back(endpoint_.username);
      auth.push_back(endpoint_.password);
      detail::append_command(hello, auth);
      ++handshake_->expected;
    }
    if (endpoint_.db != 0) {
      detail::append_command(hello, {"SELECT", std::to_string(endpoint_.db)});
      ++handshake_->expected;
    }
    if (handshake_->expected > 0) {
      wqueue_.insert(wqueue_.begin(), std::move(hello));
      waiters_.push_front(handshake_);
    }
    asio::co_spawn(strand_, connect(shared_from_this(), socket_), asio::detached);
  }

  static asio::awaitable<void> connect(std::shared_ptr<Impl> self, std::shared_ptr<Socket> sock) {
    // A watchdog closes the socket when the connect timeout passes; the pending connect then
    // completes with an error. The flags outlive this frame, since the watchdog's handler may
    // already be queued when the connect finishes.
    struct Attempt {
      bool done = false;
      bool timed_out = false;
    };
    auto attempt = std::make_shared<Attempt>();
    asio::steady_timer watchdog(self->strand_,
                                std::chrono::milliseconds(self->config_.connect_timeout_ms));
    watchdog.async_wait([sock, attempt](boost::system::error_code ec) {
      if (ec || attempt->done) return;
      attempt->timed_out = true;
      boost::system::error_code ignored;
      sock->close(ignored);
    });
    boost::system::error_code ec = co_await self->open_socket(sock);
    attempt->done = true;
    watchdog.cancel();
    if (sock != self->socket_) co_return;  // closed or superseded meanwhile
    if (ec || attempt->timed_out) {
      std::string where = self->endpoint_.unix_path.empty()
                              ? self->endpoint_.host + ":" + std::to_string(self->endpoint_.port)
                              : self->endpoint_.unix_path;
      self->fail_connection(make_error(Errc::unavailable,
                                       "cannot connect to redis: " +
                                           (attempt->timed_out ? std::string("timeout") : ec.message()),
                                       "redis at " + where));
      co_return;
    }
    boost::system::error_code ignored;
    sock->set_option(asio::ip::tcp::no_delay(true), ignored);  // fails harmlessly on unix
    self->state_ = State::connected;
    self->connected_flag_ = true;
    asio::co_spawn(self->strand_, read_loop(self, sock), asio::detached);
    self->kick_writer();
  }

  asio::awaitable<boost::system::error_code> open_socket(std::shared_ptr<Socket> sock) {
    if (!endpoint_.unix_path.empty()) {
      asio::generic::stream_protocol::endpoint ep(
          asio::local::stream_protocol::endpoint(endpoint_.unix_path));
      auto [ec] = co_await sock->async_connect(ep, kNoThrow);
      co_return ec;
    }
    std::vector<asio::ip::tcp::endpoint> candidates;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(endpoint_.host, ec);
    if (!ec) {
      candidates.emplace_back(addr, static_cast<unsigned short>(endpoint_.port));
    } else {
      asio::ip::tcp::resolver resolver(strand_);
      auto [rec, results] =
          co_await resolver.async_resolve(endpoint_.host, std::to_string(endpoint_.port), kNoThrow);
      if (rec) co_return rec;
      for (const auto& r : results) candidates.push_back(r.endpoint());
    }
    for (const auto& tcp_ep : candidates) {
      if (sock != socket_) co_return asio::error::operation_aborted;
      auto [cec] = co_await sock->async_connect(asio::generic::stream_protocol::endpoint(tcp_ep),
                                                kNoThrow);
      if (!cec) co_return cec;
      ec = cec;
      boost::system::error_code ignored;
      sock->close(ignored);
      if (cec == asio::error::operation_aborted) break;
    }
    co_return ec ? ec : asio::error::host_not_found;
  }

  void kick_writer() {
    if (writing_ || wqueue_.empty() || state_ != State::connected) return;
    writing_ = true;
    write_queued(socket_);
  }

  // Writes everything queued in one go, one gathered write of the commands' own buffers (no
  // copy into a common buffer). Commands queued while a write is in flight go in the next.
  void write_queued(std::shared_ptr<Socket> sock) {
    auto batch = std::make_shared<std::vector<std::string>>(std::move(wqueue_));
    wqueue_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(batch->size());
    for (const auto& b : *batch) buffers.emplace_back(b.data(), b.size());
    // The socket's executor is the strand, so the handler runs there.
    auto written = [self = shared_from_this(), sock, batch](boost::system::error_code ec, std::size_t) {
      if (sock != self->socket_) return;
      if (ec) {
        self->fail_connection(unavailable("redis write failed: " + ec.message()));
        return;
      }
      if (self->wqueue_.empty()) {
        self->writing_ = false;
        return;
      }
      self->write_queued(sock);
    };
    asio::async_write(*sock, buffers, std::move(written));
  }

// Once inlined here, GCC 12 takes the coroutine frame's own operator new and delete for a
// mismatched pair: a known false positive of that compiler about coroutine frames.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
  static asio::awaitable<void> read_loop(std::shared_ptr<Impl> self, std::shared_ptr<Socket> sock) {
    std::array<char, kReadChunk> buf;
    Reply reply;
    for (;;) {
      auto [ec, n] = co_await sock->async_read_some(asio::buffer(buf), kNoThrow);
      if (sock != self->socket_) co_return;
      if (ec) {
        self->fail_connection(unavailable("redis connection lost: " + ec.message()));
        co_return;
      }
      if (!self->reader_.feed(buf.data(), n)) {
        self->fail_connection(unavailable("redis protocol error"));
        co_return;
      }
      for (;;) {
        auto st = self->reader_.next(reply);
        if (st == detail::ReplyReader::Status::need_more) break;
        if (st == detail::ReplyReader::Status::protocol_error) {
          self->fail_connection(unavailable(std::string("redis protocol error: ") +
                                            self->reader_.error()));
          co_return;
        }
        self->deliver(std::move(reply));
        if (sock != self->socket_) co_return;
      }
    }
  }

#pragma GCC diagnostic pop

  void deliver(Reply reply) {
    if (waiters_.empty()) {
      fail_connection(unavailable("unexpected reply from redis"));
      return;
    }
    auto w = waiters_.front();
    w->replies.push_back(std::move(reply));
    if (w->replies.size() < w->expected) return;
    waiters_.pop_front();
    if (w == handshake_) {
      for (const auto& r : handshake_->replies) {
        if (r.is_error()) {
          fail_connection(unavailable("redis rejected AUTH/SELECT: " + r.str));
          return;
        }
      }
    }
    healthy_ = true;
    backoff_ = 0ms;
    if (w != handshake_) answer(w, std::move(w->replies));  // an abandoned waiter's reply just goes away
    if (waiters_.empty()) disarm_deadline();  // nothing left to time out: no timer keeps the context busy
  }

  // Drops the socket and fails every queued request with `err`. A connection that never got
  // a good reply backs off before the next attempt; one that was healthy reconnects on the
  // next command at once.
  void fail_connection(Error err) {
    if (socket_) {
      boost::system::error_code ignored;
      socket_->close(ignored);
      socket_.reset();
    }
    if (state_ == State::connected || state_ == State::connecting) {
      if (closed_) {
        spdlog::debug("redis connection closed");
      } else {
        spdlog::warn("redis connection dropped: {}", log_text(err));
      }
    }
    state_ = State::disconnected;
    connected_flag_ = false;
    writing_ = false;
    wqueue_.clear();
    reader_.reset();
    if (healthy_) {
      backoff_ = 0ms;
      retry_at_ = Clock::now();
    } else {
      backoff_ = backoff_ == 0ms ? kBackoffMin : std::min(backoff_ * 2, kBackoffMax);
      retry_at_ = Clock::now() + backoff_;
    }
    healthy_ = false;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    disarm_deadline();
    for (const auto& w : waiters) {
      if (w == handshake_) continue;
      answer(w, err);
    }
  }

  void close() {
    closed_ = true;
    fail_connection(make_error(Errc::cancelled, "redis connection closed"));
  }

  // The context is being destroyed (HandlerOwners): the callers' handlers go unrun, and with
  // them the coroutine frames that may own this connection.
  void drop_handlers() override {
    closed_ = true;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (const auto& w : waiters) {
      w->handler.reset();
      w->handler_ex = asio::any_io_executor();
    }
    boost::system::error_code ignored;
    if (socket_) socket_->close(ignored);
  }

  Strand strand_;
  RedisConfig config_;
  Endpoint endpoint_;
  std::optional<Error> url_error_;
  State state_ = State::disconnected;
  bool closed_ = false;
  bool healthy_ = false;  // got a good reply since the last connect
  bool writing_ = false;
  std::shared_ptr<Socket> socket_;  // replaced on every connect; coroutines compare to detect staleness
  detail::ReplyReader reader_;
  std::vector<std::string> wqueue_;  // encoded commands not yet handed to the socket
  std::deque<std::shared_ptr<Waiter>> waiters_;
  std::shared_ptr<Waiter> handshake_ = std::make_shared<Waiter>();
  asio::steady_timer deadline_timer_{strand_};
  std::optional<Clock::time_point> armed_;  // the deadline the timer is set to, while it waits
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::atomic<bool> connected_flag_{false};
};

Connection::Connection(asio::any_io_executor ex, RedisConfig config)
    : impl_(std::make_shared<Impl>(ex, std::move(config))) {
  keep_handlers_of(ex, impl_);
}

Connection::~Connection() { close(); }

asio::awaitable<Result<Reply>> Connection::command(Command cmd,
                                                   std::optional<std::chrono::milliseconds> timeout) {
  auto self = impl_;
  std::string payload;
  detail::append_command(payload, cmd);
  auto deadline = Impl::Clock::now() +
                  timeout.value_or(std::chrono::milliseconds(self->config_.command_timeout_ms));
  auto r = co_await Impl::run(std::move(self), std::move(payload), 1, deadline, is_blocking(cmd));
  if (!r) co_return r.error();
  co_return std::move(r->front());
}

asio::awaitable<Result<std::vector<Reply>>> Connection::pipeline(
    std::vector<Command> cmds, std::optional<std::chrono::milliseconds> timeout) {
  if (cmds.empty()) return [](std::vector<Reply>) -> asio::awaitable<Result<std::vector<Reply>>> {
      co_return std::vector<Reply>{};
    }({});
  std::string payload;
  for (const auto& c : cmds) detail::append_command(payload, c);
  auto deadline = Impl::Clock::now() +
                  timeout.value_or(std::chrono::milliseconds(impl_->config_.command_timeout_ms));
  bool blocking = std::any_of(cmds.begin(), cmds.end(), [](const Command& c) { return is_blocking(c); });
  return Impl::run(impl_, std::move(payload), cmds.size(), deadline, blocking);
}

bool Connection::connected() const { return impl_->connected_flag_.load(); }

void Connection::close() {
  asio::dispatch(impl_->strand_, [self = impl_] { self->close(); });
}

}  // namespace ragd::redis
