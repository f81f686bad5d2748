#include "ragd/http/server.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/log/log.hpp"
#include "ragd/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <list>
#include <mutex>
#include <optional>

namespace ragd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Bytes asked of one read from a client.
constexpr std::size_t kReadChunk = 16 * 1024;
using RequestParser = bhttp::request_parser<bhttp::string_body>;

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// Per connection: cancels the running handler when the client hangs up or the route's
// backstop passes. The handler is awaited directly by the session coroutine, which is
// spawned bound to `signal`: emitting it cancels whatever the handler awaits at that moment.
// Nothing here costs a coroutine per request; the watch is a one-byte peek (armed once the
// handler yields; it tries at once, then waits on the socket's existing edge-triggered
// registration) and a timer, both completing into plain callbacks. Every callback runs on
// the connection's strand, as the session does, and checks `generation` so that a
// completion left over from an earlier request cannot touch a later one.
struct Watch {
  asio::cancellation_signal signal;
  asio::steady_timer backstop;
  std::uint64_t generation = 0;
  bool active = false;
  bool peeking = false;  // the peek was armed for the current request
  bool timed_out = false;
  bool hung_up = false;
  char peeked = 0;

  explicit Watch(const asio::any_io_executor& ex) : backstop(ex) {}

  void start(const std::shared_ptr<Watch>& self, tcp::socket& socket, std::chrono::milliseconds limit) {
    const std::uint64_t gen = ++generation;
    active = true;
    peeking = false;
    timed_out = hung_up = false;
    // The peek is armed from the strand's queue, after the handler first yields: a handler
    // that finishes without waiting for anything (a cached answer) costs no peek at all,
    // where an immediate one was a failed recv per request.
    asio::post(socket.get_executor(), [self, gen, &socket] {
      if (!self->current(gen)) return;  // the handler is done; `socket` is not touched
      self->peeking = true;
      socket.async_receive(asio::buffer(&self->peeked, 1), tcp::socket::message_peek,
                           [self, gen](const boost::system::error_code& ec, std::size_t n) {
                             if (!self->current(gen) || ec == asio::error::operation_aborted) return;
                             // Bytes of a pipelined request are not a hang-up: stop watching.
                             if (!ec && n > 0) return;
                             self->hung_up = true;
                             self->signal.emit(asio::cancellation_type::terminal);
                           });
    });
    if (limit > std::chrono::milliseconds::zero()) {
      backstop.expires_after(limit);
      backstop.async_wait([self, gen](const boost::system::error_code& ec) {
        if (ec || !self->current(gen)) return;
        self->timed_out = true;
        self->signal.emit(asio::cancellation_type::terminal);
      });
    }
  }

  // The handler returned: the peek and the timer go (the socket has no other operation
  // pending while a handler runs).
  void stop(tcp::socket& socket) {
    active = false;
    if (peeking) {
      boost::system::error_code ignored;
      socket.cancel(ignored);
      peeking = false;
    }
    backstop.cancel();
  }

  bool current(std::uint64_t gen) const { return active && gen == generation; }
};

// The status line and header fields of a response, written by hand: Beast's serializer
// costs more than the rest of a cached answer's path through the server.
void append_head(std::string& out, const Response& r, bool keep_alive, unsigned version,
                 const std::string& request_id) {
  const auto status = static_cast<unsigned>(r.status);
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: ragd/" RAGD_VERSION "\r\nContent-Type: ";
  out += r.content_type;
  if (!request_id.empty()) {
    out += "\r\nX-Request-Id: ";
    out += request_id;
  }
  for (const auto& [k, v] : r.headers) {
    out += "\r\n";
    out += k;
    out += ": ";
    out += v;
  }
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  if (!keep_alive) {
    out += "\r\nConnection: close";
  } else if (version == 10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
}

}  // namespace

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
  struct Conn;

  // The deadline of the request being read: when it passes, the reads are cancelled, not
  // the socket closed (as beast::tcp_stream's own timeout does), so that the session can
  // still answer 408. Runs on the connection's strand; `generation` keeps a completion left
  // over from an earlier request from touching a later one.
  struct ReadDeadline {
    asio::steady_timer timer;
    std::uint64_t generation = 0;
    bool expired = false;

    explicit ReadDeadline(const asio::any_io_executor& ex) : timer(ex) {}

    void arm(const std::shared_ptr<Conn>& conn, std::chrono::steady_clock::time_point at) {
      const std::uint64_t gen = ++generation;
      expired = false;
      timer.expires_at(at);
      timer.async_wait([conn, gen](const boost::system::error_code& ec) {
        if (ec || conn->read_deadline.generation != gen) return;
        conn->read_deadline.expired = true;
        boost::system::error_code ignored;
        conn->stream.socket().cancel(ignored);
      });
    }
    void disarm() {
      ++generation;
      timer.cancel();
    }
  };

  struct Conn {
    beast::tcp_stream stream;
    ReadDeadline read_deadline;
    bool idle = true;
    explicit Conn(tcp::socket s) : stream(std::move(s)), read_deadline(stream.get_executor()) {}
  };

  asio::any_io_executor ex;
  ServerConfig cfg;
  const Router& router;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> inflight{0};
  std::atomic<bool> stopping{false};
  std::mutex conns_mutex;
  std::list<std::weak_ptr<Conn>> conns;

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& latency;
  metrics::Gauge& open_conns_gauge;
  metrics::Counter& rejected_conns;

  Impl(asio::any_io_executor e, ServerConfig c, const Router& r, metrics::Registry& m)
      : ex(std::move(e)), cfg(std::move(c)), router(r), acceptor(ex),
        requests(m.counter("ragd_http_requests_total", "HTTP requests by route and status.",
                           {"route", "status"})),
        latency(m.histogram("ragd_http_request_duration_ms",
                            "HTTP request latency in milliseconds by route.", {"route"})),
        open_conns_gauge(m.gauge("ragd_http_open_connections", "Open client connections.").with()),
        rejected_conns(m.counter("ragd_http_rejected_connections_total",
                                 "Connections refused because max_connections was reached.")
                           .with()) {}

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ex), kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping.load()) break;
        spdlog::warn("accept failed: {}", ec.message());
        // EMFILE and friends: back off instead of spinning.
        asio::steady_timer t(ex, std::chrono::milliseconds(50));
        co_await t.async_wait(kTuple);
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
      auto watch = std::make_shared<Watch>(exec);
      asio::cancellation_slot slot = watch->signal.slot();
      asio::co_spawn(exec, session(self, std::move(socket), watch),
                     asio::bind_cancellation_slot(slot, [watch](std::exception_ptr) {}));
    }
  }

  static asio::awaitable<void> reject(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(std::chrono::seconds(2));
    bhttp::response<bhttp::string_body> res{bhttp::status::service_unavailable, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::retry_after, "1");
    res.keep_alive(false);
    res.body() = error_body(make_error(Errc::overloaded, "too many open connections; retry later"));
    res.prepare_payload();
    co_await bhttp::async_write(stream, res, kTuple);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  // A request Beast refused to parse: the limits it keeps itself, or malformed bytes.
  Error limit_error(const beast::error_code& ec) const {
    if (ec == bhttp::error::body_limit) {
      return make_error(Errc::payload_too_large, "request body is larger than the server's limit of " +
                                                     std::to_string(cfg.body_limit_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) return headers_too_large();
    return make_error(Errc::bad_request, "malformed HTTP request: " + ec.message());
  }

  // Feeds what `buffer` holds to `parser` without I/O, consuming what it parsed. Leaves `ec`
  // clear when the parser needs more bytes (the slow read then takes over) and set on a
  // malformed request, as a read would; `rejected` is set when a limit Beast does not keep
  // exactly is passed:
  // - the header: Beast bounds only the part of it not yet consumed, so a header fed in
  //   pieces passed up to about twice the limit; the bytes are counted here across pieces
  //   (the header is parsed alone, not eagerly, so the count stops where the body starts);
  // - a chunk-size line (its extensions) and a chunked body's trailer fields: Beast bounds
  //   neither, and waits until each is whole in the buffer; they may be as long as the
  //   header limit.
  void feed(RequestParser& parser, beast::flat_buffer& buffer, std::size_t& header_bytes,
            beast::error_code& ec, std::optional<Error>& rejected) const {
    while (buffer.size() > 0 && !parser.is_done()) {
      const bool in_header = !parser.is_header_done();
      parser.eager(!in_header);
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (in_header) {
        header_bytes += used;
        // Until the header is done, everything still buffered belongs to it.
        const std::size_t seen = header_bytes + (parser.is_header_done() ? 0 : buffer.size());
        if (seen > cfg.header_limit_bytes) {
          rejected = headers_too_large();
          return;
        }
      }
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (!in_header && buffer.size() > cfg.header_limit_bytes) rejected = chunk_framing_too_long(buffer);
        return;
      }
      if (ec || used == 0) return;
    }
  }

  Error headers_too_large() const {
    return make_error(Errc::headers_too_large, "request headers are larger than the server's limit of " +
                                                   std::to_string(cfg.header_limit_bytes) + " bytes");
  }

  // What the parser waits for in a chunked body: the trailer fields when the last chunk's
  // line ("0", maybe extensions) is complete, else a chunk-size line with its extensions.
  Error chunk_framing_too_long(const beast::flat_buffer& buffer) const {
    std::string_view rest(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (rest.starts_with("\r\n")) rest.remove_prefix(2);  // the end of the previous chunk
    const auto eol = rest.find("\r\n");
    const auto size_end = std::min(rest.find_first_not_of('0'), eol);
    const bool last_chunk = eol != std::string_view::npos && size_end > 0 &&
                            (size_end == eol || rest[size_end] == ';');
    if (last_chunk) {
      return make_error(Errc::headers_too_large, "the trailer fields of the chunked body are larger than the server's limit of " +
                                                     std::to_string(cfg.header_limit_bytes) + " bytes");
    }
    return make_error(Errc::bad_request, "a chunk-size line (with its extensions) is longer than the server's limit of " +
                                             std::to_string(cfg.header_limit_bytes) + " bytes");
  }

  // The rest of a request that did not arrive whole with its first bytes, within the
  // request's deadline: the deadline cancels the reads (it does not close the socket), so
  // the session can still answer 408.
  asio::awaitable<void> read_rest(std::shared_ptr<Conn> conn, beast::flat_buffer& buffer, RequestParser& parser,
                                  std::size_t& header_bytes, std::chrono::steady_clock::time_point deadline,
                                  beast::error_code& ec, std::optional<Error>& rejected) {
    auto& socket = conn->stream.socket();
    conn->read_deadline.arm(conn, deadline);
    bool continued = false;
    while (!parser.is_done()) {
      if (parser.is_header_done() && !continued) {
        continued = true;
        if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(kContinue), kTuple);
          if (wec) {
            ec = wec;
            break;
          }
        }
      }
      // feed() leaves at most header_limit_bytes unconsumed, so there is room for a read.
      const std::size_t room = std::min(kReadChunk, buffer.max_size() - buffer.size());
      if (room == 0) {
        ec = bhttp::error::buffer_overflow;
        break;
      }
      auto [rec, n] = co_await socket.async_read_some(buffer.prepare(room), kTuple);
      buffer.commit(n);
      if (rec) {
        // The peer's EOF in the middle of a request: as Beast reports it.
        ec = rec == asio::error::eof ? beast::error_code(bhttp::error::partial_message) : rec;
        break;
      }
      feed(parser, buffer, header_bytes, ec, rejected);
      if (ec || rejected) break;
    }
    conn->read_deadline.disarm();
  }

  // Header and body go out in one gather write; the body is not copied.
  asio::awaitable<void> write_response(beast::tcp_stream& stream, const Response& r, bool keep_alive,
                                       unsigned version, const std::string& request_id) {
    std::string head;
    head.reserve(192 + r.content_type.size() + request_id.size());
    append_head(head, r, keep_alive, version, request_id);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(r.body)};
    stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    co_await asio::async_write(stream, buffers, kTuple);
  }

  asio::awaitable<Response> invoke(const Handler& handler, Request req, const Watch& watch) {
    std::string request_id = req.request_id;
    try {
      co_return co_await handler(std::move(req));
    } catch (const boost::system::system_error& e) {
      // The watch cancelled the handler (the client hung up, or the backstop fired): an
      // expected end, already counted and logged where it was decided.
      if (e.code() == asio::error::operation_aborted && (watch.hung_up || watch.timed_out)) {
        spdlog::debug("req_id={} handler cancelled: {}", request_id, e.what());
      } else {
        spdlog::error("req_id={} unhandled exception: {}", request_id, e.what());
      }
    } catch (const std::exception& e) {
      spdlog::error("req_id={} unhandled exception: {}", request_id, e.what());
    }
    co_return Response::error(make_error(Errc::internal, "internal error; see the server log for request " + request_id));
  }

  void track(const std::shared_ptr<Conn>& c) {
    std::lock_guard lock(conns_mutex);
    for (auto it = conns.begin(); it != conns.end();) {
      it = it->expired() ? conns.erase(it) : std::next(it);
    }
    conns.push_back(c);
  }

  // The first parameter keeps the server state alive for as long as the session runs.
  asio::awaitable<void> session(std::shared_ptr<Impl> /*keep_alive*/, tcp::socket socket,
                                std::shared_ptr<Watch> watch) {
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
    auto conn = std::make_shared<Conn>(std::move(socket));
    track(conn);
    auto& stream = conn->stream;
    // Bounded: feed() leaves at most header_limit_bytes unparsed, and a read adds at most
    // kReadChunk (an unbounded buffer held whole trailers of any size).
    beast::flat_buffer buffer(cfg.header_limit_bytes + kReadChunk);
    // The first request must arrive whole within the read timeout of the accept; a
    // keep-alive connection waits up to the idle timeout for a later request's first bytes.
    const auto accepted = std::chrono::steady_clock::now();
    bool first = true;
    for (;;) {
      conn->idle = true;
      if (stopping.load()) break;
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit_bytes));
      parser.body_limit(cfg.body_limit_bytes);

      // Waiting for a request's first bytes (a raw read: Beast's parser would keep reading
      // until a whole header arrived). A connection that sends nothing is closed without a
      // response when the wait ends, the first one's at the read timeout.
      beast::error_code ec;
      const auto read_timeout = std::chrono::milliseconds(cfg.read_timeout_ms);
      if (buffer.size() == 0) {
        if (first) {
          stream.expires_at(accepted + read_timeout);
        } else {
          stream.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
        }
        auto [ec1, n1] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kTuple);
        buffer.commit(n1);
        if (ec1) break;  // closed, cancelled by stop(), or the wait's timeout
      }
      conn->idle = false;
      const auto deadline = (first ? accepted : std::chrono::steady_clock::now()) + read_timeout;
      first = false;
      double t0 = mono_ms();
      // A request that arrived whole (the usual case) is parsed from the buffer at once;
      // reads would each still cost a trip through the scheduler.
      std::size_t header_bytes = 0;
      std::optional<Error> rejected;
      feed(parser, buffer, header_bytes, ec, rejected);
      // ...otherwise the rest before the deadline, however slowly it trickles.
      if (!ec && !rejected && !parser.is_done()) {
        co_await read_rest(conn, buffer, parser, header_bytes, deadline, ec, rejected);
      }
      if (conn->read_deadline.expired) {
        rejected = make_error(Errc::request_timeout, "the request did not arrive within the read timeout of " +
                                                         std::to_string(cfg.read_timeout_ms) + " ms");
      } else if (!rejected && ec) {
        if (ec == asio::error::connection_reset || ec == asio::error::operation_aborted) break;
        rejected = limit_error(ec);
      }
      if (rejected) {
        Response r = Response::error(*rejected);
        requests.with({"unmatched", std::to_string(r.status)}).inc();
        co_await write_response(stream, r, false, 11, {});
        break;
      }

      auto& msg = parser.get();
      Request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      auto q = req.target.find('?');
      req.path = req.target.substr(0, q);
      if (q != std::string::npos) req.query = req.target.substr(q + 1);
      for (const auto& f : msg) {
        std::string name(f.name_string());
        for (auto& c : name) c = ascii_lower(c);
        req.headers.emplace_back(std::move(name), std::string(f.value()));
      }
      req.body = std::move(msg.body());
      req.remote = remote;
      auto client_id = req.header("x-request-id");
      req.request_id = sane_request_id(client_id) ? std::string(client_id) : random_id();
      bool keep_alive = msg.keep_alive();
      unsigned version = msg.version();

      auto m = router.match(req.method, req.path);
      // Kept for the log line: the request itself moves into the handler.
      const std::string method = req.method;
      const std::string request_id = req.request_id;
      Response res;
      bool client_gone = false;
      if (!m.handler) {
        if (m.status == 405) {
          res = Response::error(make_error(Errc::method_not_allowed,
                                           "method " + req.method + " is not allowed on " + req.path +
                                               "; allowed: " + m.allow));
          res.headers.emplace_back("Allow", m.allow);
        } else if (m.status == 400) {
          res = Response::error(make_error(Errc::bad_request, m.error));
        } else {
          res = Response::error(make_error(Errc::not_found, "no route for " + req.path));
        }
      } else {
        req.path_params = std::move(m.params);
        inflight.fetch_add(1);
        watch->start(watch, stream.socket(), m.backstop);
        res = co_await invoke(*m.handler, std::move(req), *watch);
        watch->stop(stream.socket());
        inflight.fetch_sub(1);
        if (watch->timed_out || watch->hung_up) {
          // The handler was cancelled: the session goes on with a fresh cancellation state.
          co_await asio::this_coro::reset_cancellation_state();
          if (watch->timed_out) {
            res = Response::error(make_error(Errc::deadline_exceeded, "the request did not finish in time"));
          } else {
            client_gone = true;
            res = Response::error(make_error(Errc::cancelled, "client closed the connection"));
          }
        }
      }
      double ms = mono_ms() - t0;
      auto status = std::to_string(res.status);
      requests.with({m.route, status}).inc();
      latency.with({m.route}).observe(ms);
      bool probe = m.route == "/healthz" || m.route == "/readyz" || m.route == "/metrics";
      spdlog::log(probe ? spdlog::level::debug : spdlog::level::info,
                  "req_id={} method={} route={} status={} ms={:.2f} remote={}", request_id,
                  method, log::field(m.route), status, ms, remote);
      if (client_gone) break;
      keep_alive = keep_alive && !stopping.load();
      co_await write_response(stream, res, keep_alive, version, request_id);
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

void Server::start() { asio::co_spawn(impl_->ex, impl_->accept_loop(), asio::detached); }

void Server::stop() {
  auto impl = impl_;
  if (impl->stopping.exchange(true)) return;
  asio::post(impl->acceptor.get_executor(), [impl] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  std::lock_guard lock(impl->conns_mutex);
  for (auto& w : impl->conns) {
    if (auto c = w.lock()) {
      asio::post(c->stream.get_executor(), [c] {
        if (c->idle) c->stream.cancel();
      });
    }
  }
}

std::size_t Server::open_connections() const { return impl_->connections.load(); }
std::size_t Server::requests_in_flight() const { return impl_->inflight.load(); }

}  // namespace ragd::http
