// The accept loop and the connection loop. What a connection does with one request lives
// beside it: reading it under the limits (request_reader), watching for a hang-up while its
// handler runs (hangup_watch), routing, counting and logging it (dispatcher), and writing
// the answer (response_writer).
#include "ragd/http/server.hpp"
#include "ragd/core/completion_token.hpp"

#include "dispatcher.hpp"
#include "hangup_watch.hpp"
#include "request_reader.hpp"
#include "response_writer.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <spdlog/spdlog.h>

#include <list>
#include <mutex>

namespace ragd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

Result<std::pair<std::string, unsigned short>> parse_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size()) {
    return make_error(Errc::bad_request, "listen address must be HOST:PORT, got '" + s + "'");
  }
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    std::size_t used = 0;
    port = std::stoi(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) throw std::invalid_argument("port");
  } catch (const std::exception&) {
    return make_error(Errc::bad_request, "bad port in '" + s + "'");
  }
  if (port < 0 || port > 65535) return make_error(Errc::bad_request, "port out of range in '" + s + "'");
  return std::make_pair(host, static_cast<unsigned short>(port));
}

struct Server::Impl : std::enable_shared_from_this<Impl> {
  struct Conn {
    // Waiting for a new connection's first request, for a kept-alive connection's next one,
    // or reading, handling and answering one. Read and written on the connection's strand.
    enum class State { awaiting_first, awaiting_next, busy };
    beast::tcp_stream stream;
    RequestReader reader;
    State state = State::awaiting_first;
    Conn(tcp::socket s, const ServerConfig& cfg) : stream(std::move(s)), reader(stream.get_executor(), cfg) {}
  };

  asio::any_io_executor ex;
  ServerConfig cfg;
  Dispatcher dispatcher;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> inflight{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> closed{false};
  std::mutex conns_mutex;
  std::list<std::weak_ptr<Conn>> conns;

  metrics::Gauge& open_conns_gauge;
  metrics::Counter& rejected_conns;

  Impl(asio::any_io_executor e, ServerConfig c, const Router& r, metrics::Registry& m)
      : ex(std::move(e)), cfg(std::move(c)), dispatcher(r, m), acceptor(asio::make_strand(ex)),
        open_conns_gauge(m.gauge("ragd_http_open_connections", "Open client connections.").with()),
        rejected_conns(m.counter("ragd_http_rejected_connections_total",
                                 "Connections refused because max_connections was reached.")
                           .with()) {}

  std::chrono::milliseconds read_timeout() const { return std::chrono::milliseconds(cfg.read_timeout_ms); }

  // Runs on the acceptor's strand, where stop() closes it; the drain keeps it accepting.
  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ex), kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        spdlog::warn("accept failed: {}", ec.message());
        // EMFILE and friends: back off instead of spinning.
        asio::steady_timer t(ex, std::chrono::milliseconds(50));
        co_await t.async_wait(kNoThrow);
        continue;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (connections.load() >= static_cast<std::size_t>(cfg.max_connections)) {
        rejected_conns.inc();
        asio::co_spawn(socket.get_executor(), reject(std::move(socket)), asio::detached);
        continue;
      }
      auto exec = socket.get_executor();
      // The completion handler owns the watch, and with it the signal the session is bound
      // to: the signal outlives the coroutine it cancels.
      auto watch = std::make_shared<HangupWatch>(exec);
      asio::cancellation_slot slot = watch->slot();
      asio::co_spawn(exec, session(self, std::move(socket), watch),
                     asio::bind_cancellation_slot(slot, [watch](std::exception_ptr) {}));
    }
  }

  static asio::awaitable<void> reject(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    co_await write_response(stream, Response::error(make_error(Errc::overloaded, "too many open connections; retry later")),
                            false, 11, {}, std::chrono::seconds(2), kNoTrace);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  // Counts a routed request in flight unless the drain refuses it (only the routes served
  // while draining pass then). Counted before the drain is checked: a drain that begins
  // meanwhile sees the count and waits for the request.
  bool admit(const Router::Match& m) {
    inflight.fetch_add(1);
    if (!draining.load() || m.while_draining == WhileDraining::served) return true;
    inflight.fetch_sub(1);
    return false;
  }

  // The answer to a request that arrives while the server drains: at once, without its
  // handler, and the connection closes after it.
  static Response shutting_down() {
    return Response::error(make_error(Errc::unavailable, "the server is shutting down; retry the request"));
  }

  // Ends the connections that wait for a kept-alive connection's next request and, when
  // `new_connections`, those that wait for their first; a request being read or handled
  // runs on.
  void cancel_waiting(bool new_connections) {
    std::lock_guard lock(conns_mutex);
    for (auto& w : conns) {
      if (auto c = w.lock()) {
        asio::post(c->stream.get_executor(), [c, new_connections] {
          if (c->state == Conn::State::awaiting_next ||
              (new_connections && c->state == Conn::State::awaiting_first)) {
            c->stream.cancel();
          }
        });
      }
    }
  }

  void track(const std::shared_ptr<Conn>& c) {
    std::lock_guard lock(conns_mutex);
    for (auto it = conns.begin(); it != conns.end();) {
      it = it->expired() ? conns.erase(it) : std::next(it);
    }
    conns.push_back(c);
  }

  // The connection loop: wait for a request, read it, answer it, until the connection
  // ends. The first parameter keeps the server state alive for as long as the session runs.
  asio::awaitable<void> session(std::shared_ptr<Impl> /*keep_alive*/, tcp::socket socket,
                                std::shared_ptr<HangupWatch> watch) {
    connections.fetch_add(1);
    open_conns_gauge.add(1);
    struct Guard {
      Impl* impl;
      ~Guard() {
        impl->connections.fetch_sub(1);
        impl->open_conns_gauge.add(-1);
      }
    } guard{this};
    std::string remote;
    {
      beast::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    auto conn = std::make_shared<Conn>(std::move(socket), cfg);
    track(conn);
    auto& stream = conn->stream;
    auto& reader = conn->reader;
    // The first request must arrive whole within the read timeout of the accept; a
    // keep-alive connection waits up to the idle timeout for a later request's first bytes.
    const auto accepted = std::chrono::steady_clock::now();
    bool first = true;
    for (;;) {
      // While draining, a kept-alive connection ends here; a new connection's first request
      // is still read, and answered (a probe) or refused with 503.
      if (!first && draining.load()) break;
      conn->state = first ? Conn::State::awaiting_first : Conn::State::awaiting_next;
      // Waiting for a request's first bytes (a raw read: Beast's parser would keep reading
      // until a whole header arrived). A connection that sends nothing is closed without a
      // response when the wait ends.
      if (!reader.buffered()) {
        if (first) {
          stream.expires_at(accepted + read_timeout());
        } else {
          stream.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
        }
        auto [ec, n] = co_await stream.async_read_some(reader.prepare(), kNoThrow);
        reader.commit(n);
        if (ec) break;  // closed, cancelled by drain() or stop(), or the wait's timeout
      }
      conn->state = Conn::State::busy;
      const double t0 = mono_ms();
      reader.begin((first ? accepted : std::chrono::steady_clock::now()) + read_timeout());
      first = false;
      if (reader.needs_more()) co_await reader.read_rest(conn, stream.socket());
      if (reader.closed()) break;
      if (reader.rejected()) {
        Response r = Response::error(*reader.rejected());
        dispatcher.count_refused(r.status);
        co_await write_response(stream, r, false, 11, {}, read_timeout(), kNoTrace);
        break;
      }

      auto& msg = reader.message();
      bool keep_alive = msg.keep_alive();
      const unsigned version = msg.version();
      Request req = Dispatcher::make_request(msg, remote);
      auto m = dispatcher.route(req);
      // Kept for the log line: the request itself moves into the handler.
      const std::string method = req.method;
      const std::string request_id = req.request_id;
      const TraceContext trace = req.trace;
      Response res;
      bool client_gone = false;
      bool streamed = false, stream_complete = false;
      if (!m.handler && !draining.load()) {
        res = Dispatcher::unrouted(m, req);
      } else if (!admit(m)) {
        res = shutting_down();
      } else {
        req.path_params = std::move(m.params);
        watch->start(watch, stream.socket(), m.backstop);
        res = co_await Dispatcher::invoke(*m.handler, std::move(req), *watch, request_id, trace.trace_id);
        if (res.stream) {
          // The watch stays armed while the body streams: a hang-up cancels the producer.
          auto body = std::move(res.stream);
          auto sent = co_await write_stream(stream, *body, keep_alive, version, request_id, read_timeout(), trace);
          if (!sent.complete) body->cancel();
          if (sent.response) {
            res = std::move(*sent.response);
          } else {
            res = Response::json(200, {});
            streamed = sent.head_sent;
            stream_complete = sent.complete;
          }
        }
        watch->stop(stream.socket());
        inflight.fetch_sub(1);
        if (watch->timed_out() || watch->hung_up()) {
          // The handler was cancelled: the session goes on with a fresh cancellation state.
          co_await asio::this_coro::reset_cancellation_state();
          client_gone = watch->hung_up();
          if (!streamed) res = Dispatcher::cancelled(*watch);
          stream_complete = false;
        }
      }
      dispatcher.record(m.route, res, mono_ms() - t0, method, request_id, remote, trace.trace_id);
      if (client_gone) break;
      if (streamed) {
        // The response went out as it came; a stream cut short ends the connection.
        if (!stream_complete || !keep_alive || version == 10 || draining.load()) break;
        continue;
      }
      keep_alive = keep_alive && !draining.load();
      co_await write_response(stream, res, keep_alive, version, request_id, read_timeout(), trace);
      if (!keep_alive) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }
};

Server::Server(asio::any_io_executor ex, ServerConfig config, const Router& router,
               metrics::Registry& metrics)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(config), router, metrics)) {}

Server::~Server() { stop(); }

Result<void> Server::listen() {
  auto hp = parse_host_port(impl_->cfg.listen);
  if (!hp) return hp.error();
  beast::error_code ec;
  auto addr = asio::ip::make_address(hp->first, ec);
  if (ec) return make_error(Errc::bad_request, "bad listen host '" + hp->first + "'");
  tcp::endpoint ep(addr, hp->second);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::unavailable, "cannot listen on " + impl_->cfg.listen + ": " + ec.message());
  return {};
}

unsigned short Server::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Server::start() { asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached); }

void Server::drain() {
  if (impl_->draining.exchange(true)) return;
  impl_->cancel_waiting(/*new_connections=*/false);
}

void Server::stop() {
  drain();
  auto impl = impl_;
  if (impl->closed.exchange(true)) return;
  asio::post(impl->acceptor.get_executor(), [impl] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl->cancel_waiting(/*new_connections=*/true);
}

std::size_t Server::open_connections() const { return impl_->connections.load(); }
std::size_t Server::requests_in_flight() const { return impl_->inflight.load(); }

}  // namespace ragd::http
