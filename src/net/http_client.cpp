// libcurl's multi interface driven by Asio (the "multi_socket" API):
//
//   * curl opens its sockets through on_open_socket(), so each one is an Asio
//     posix::stream_descriptor from birth; curl closes them through on_close_socket().
//     Asio therefore never watches a descriptor number curl has already closed and that
//     the kernel may have handed out again.
//   * CURLMOPT_SOCKETFUNCTION says which events curl wants on a socket; we keep one
//     async_wait per direction outstanding and report readiness with
//     curl_multi_socket_action().
//   * CURLMOPT_TIMERFUNCTION sets one steady_timer; when it fires we call
//     curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
//
// Every curl call and callback runs on the client's strand, so the CURLM handle is only
// ever touched by one thread at a time. Connections live in the multi handle's cache and
// are reused across requests (keep-alive).
//
// Every client registers with its execution context's HandlerOwners (core/io_context.hpp),
// which drops the transfers still in flight when the context is destroyed.
//
// The file is one class (HttpClient::Impl, about 450 of its 590 lines) and stays whole: the
// socket and timer callbacks, the transfers in flight and their cancellation all touch the
// same strand-guarded state, and the rules above hold only if they are read together.
#include "ragd/net/http_client.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/io_context.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace ragd::net {

namespace asio = boost::asio;

std::string HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

namespace {

using Completion = asio::any_completion_handler<void(Result<HttpResponse>)>;
// Boost 1.81's any_completion_handler recurses without end in its move assignment (and
// its converting constructor also accepts a non-const lvalue of itself), so it is only
// ever constructed once and then handed around through a unique_ptr.
using CompletionPtr = std::unique_ptr<Completion>;

void ensure_curl_global_init() {
  // curl_global_init is not thread-safe and must run before any other curl call.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A URL as the log may show it: without user:password@ and without its query and fragment
// (some services take their key as ?key=...).
std::string url_for_log(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const std::size_t scheme = url.find("://");
  const std::size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t path = url.find('/', host);
  const std::size_t at = url.substr(0, path).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + std::string(url.substr(at + 1));
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

class HttpClient::Impl final : public HandlerKeeper, public std::enable_shared_from_this<HttpClient::Impl> {
 public:
  Impl(asio::any_io_executor ex, HttpClientOptions options)
      : strand_(asio::make_strand(ex)), options_(options), timer_(strand_) {
    ensure_curl_global_init();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options_.max_idle_connections);
  }

  ~Impl() override { close_all(/*complete_handlers=*/false); }

  void drop_handlers() override { close_all(/*complete_handlers=*/false); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Runs on the strand.
  void start(std::uint64_t id, std::shared_ptr<const HttpRequest> req, std::chrono::milliseconds timeout,
             CompletionPtr handler, asio::any_io_executor hex) {
    auto t = std::make_unique<Transfer>();
    t->id = id;
    t->req = std::move(req);
    t->timeout = timeout;
    t->handler = std::move(handler);
    t->handler_ex = std::move(hex);
    t->started = std::chrono::steady_clock::now();
    if (closed_) {
      finish(std::move(t), make_error(Errc::cancelled, "HTTP client is shut down"));
      return;
    }
    if (auto err = configure(*t)) {
      finish(std::move(t), std::move(*err));
      return;
    }
    CURL* easy = t->easy;
    transfers_.emplace(id, std::move(t));
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      auto node = transfers_.extract(id);
      finish(std::move(node.mapped()), make_error(Errc::internal, "curl_multi_add_handle failed"));
    }
  }

  // Runs on the strand.
  void cancel(std::uint64_t id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;  // already finished
    auto t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, t->easy);
    finish(std::move(t), make_error(Errc::cancelled, "request cancelled"));
  }

  // Runs on the strand (or from the destructor, when nothing else refers to us).
  void close_all(bool complete_handlers) {
    if (closed_) return;
    closed_ = true;
    auto transfers = std::move(transfers_);
    transfers_.clear();
    for (auto& [id, t] : transfers) {
      if (multi_) curl_multi_remove_handle(multi_, t->easy);
      if (complete_handlers) {
        finish(std::move(t), make_error(Errc::cancelled, "HTTP client is shut down"));
      }
    }
    transfers.clear();
    for (CURL* e : idle_easy_) curl_easy_cleanup(e);
    idle_easy_.clear();
    // Closes the cached keep-alive connections through on_close_socket().
    if (multi_) curl_multi_cleanup(multi_);
    multi_ = nullptr;
    timer_.cancel();
    for (auto& [fd, s] : sockets_) {
      s->closed = true;
      boost::system::error_code ec;
      s->sd.cancel(ec);
      if (s->owned) {
        s->sd.close(ec);
      } else {
        s->sd.release();
      }
    }
    sockets_.clear();
  }

  asio::strand<asio::any_io_executor> strand_;
  std::atomic<std::uint64_t> next_id_{1};

 private:
  struct Socket {
    explicit Socket(asio::strand<asio::any_io_executor>& ex) : sd(ex) {}
    asio::posix::stream_descriptor sd;
    curl_socket_t fd = CURL_SOCKET_BAD;
    int want = 0;  // CURL_POLL_* bits
    bool read_pending = false;
    bool write_pending = false;
    bool closed = false;
    bool owned = true;  // opened by on_open_socket; otherwise curl's own (we only watch it)
  };

  struct Transfer {
    ~Transfer() {
      if (easy) curl_easy_cleanup(easy);
      if (header_list) curl_slist_free_all(header_list);
    }
    std::uint64_t id = 0;
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    // The body must outlive the transfer (CURLOPT_POSTFIELDS does not copy); shared by the
    // attempts of one request.
    std::shared_ptr<const HttpRequest> req;
    std::chrono::milliseconds timeout{0};  // this attempt's
    HttpResponse resp;
    bool too_large = false;
    bool refused = false;  // the streaming reader stopped the transfer
    std::size_t max_bytes = 0;
    char error[CURL_ERROR_SIZE] = {};
    std::chrono::steady_clock::time_point started;
    CompletionPtr handler;
    asio::any_io_executor handler_ex;  // tracks work so the caller's context stays alive
  };

  std::optional<Error> configure(Transfer& t) {
    if (!idle_easy_.empty()) {
      t.easy = idle_easy_.back();
      idle_easy_.pop_back();
    } else {
      t.easy = curl_easy_init();
    }
    if (!t.easy) return make_error(Errc::internal, "curl_easy_init failed");
    t.max_bytes = options_.max_response_bytes;
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_URL, t.req->url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);

    long connect_ms = static_cast<long>(options_.connect_timeout.count());
    if (t.timeout.count() > 0) {
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t.timeout.count()));
      connect_ms = std::min(connect_ms, static_cast<long>(t.timeout.count()));
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::max(connect_ms, 1L));

    const std::string& m = t.req->method;
    if (m == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      if (m != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
      if (m == "POST" || !t.req->body.empty()) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(t.req->body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.req->body.data());
      }
    }
    for (const auto& [name, value] : t.req->headers) {
      std::string line = name + ": " + value;
      t.header_list = curl_slist_append(t.header_list, line.c_str());
    }
    // curl would otherwise send "Expect: 100-continue" for bodies over 1 KiB and wait a
    // round trip (or a second) before sending the prompt.
    t.header_list = curl_slist_append(t.header_list, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);
    return std::nullopt;
  }

  // Completes the caller's handler on its own executor; the slot is cleared there too,
  // since that is where a cancellation would be emitted from.
  void finish(std::unique_ptr<Transfer> t, Result<HttpResponse> r) {
    auto ex = std::move(t->handler_ex);
    CompletionPtr handler = std::move(t->handler);
    recycle(*t);
    t.reset();  // the easy handle is reset or gone before the caller resumes
    asio::post(ex, [h = std::move(handler), r = std::move(r)]() mutable {
      asio::get_associated_cancellation_slot(*h).clear();
      (std::move(*h))(std::move(r));
    });
  }

  // Keeps a finished transfer's easy handle (it is out of the multi handle by now) for the
  // next transfer: creating and destroying one cost about 15 k instructions a request, a
  // reset a fraction of that. The handle's options go back to their defaults; curl keeps
  // its connections in the multi handle, not here. At most kMaxIdleEasy are kept, so the
  // pool follows the peak number of transfers in flight up to that bound.
  void recycle(Transfer& t) {
    if (t.easy == nullptr || closed_ || idle_easy_.size() >= kMaxIdleEasy) return;
    curl_easy_reset(t.easy);
    idle_easy_.push_back(t.easy);
    t.easy = nullptr;
  }

  Result<HttpResponse> outcome(Transfer& t, CURLcode rc) {
    if (rc == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      t.resp.status = static_cast<int>(status);
      return std::move(t.resp);
    }
    // A client may see the message (curl's words for the failure, no address); where it
    // failed, and curl's own account naming hosts and ports, go to the detail.
    std::string where = t.req->method + " " + url_for_log(t.req->url);
    if (t.error[0] != '\0') where += std::string(": ") + t.error;
    auto failed = [&](Errc code, std::string what) { return make_error(code, std::move(what), std::move(where)); };
    const std::string what = curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT: {
        // curl reports the connect timeout with the same code; only the request's own
        // timeout is a deadline, a slow connect is an unreachable service.
        auto elapsed = std::chrono::steady_clock::now() - t.started;
        if (t.timeout.count() > 0 && elapsed + std::chrono::milliseconds(5) >= t.timeout) {
          return failed(Errc::deadline_exceeded, what);
        }
        return failed(Errc::unavailable, what);
      }
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_SSL_CONNECT_ERROR:
        return failed(Errc::unavailable, what);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return failed(Errc::bad_request, what);
      case CURLE_WRITE_ERROR:
        if (t.refused) return failed(Errc::upstream_error, "the response stream was refused by its reader");
        if (t.too_large) {
          return failed(Errc::upstream_error, "response larger than " + std::to_string(t.max_bytes) + " bytes");
        }
        return failed(Errc::upstream_error, what);
      default:
        return failed(Errc::upstream_error, what);
    }
  }

  void check_completed() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode rc = msg->data.result;  // msg is invalid after remove_handle
      Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      if (!raw) continue;
      auto it = transfers_.find(raw->id);
      if (it == transfers_.end()) continue;
      auto t = std::move(it->second);
      transfers_.erase(it);
      auto result = outcome(*t, rc);
      curl_multi_remove_handle(multi_, t->easy);
      finish(std::move(t), std::move(result));
    }
  }

  void drive(curl_socket_t fd, int events) {
    if (closed_) return;
    int running = 0;
    curl_multi_socket_action(multi_, fd, events, &running);
    check_completed();
  }

  void arm(const std::shared_ptr<Socket>& s, bool read) {
    bool& pending = read ? s->read_pending : s->write_pending;
    if (pending || s->closed) return;
    pending = true;
    auto type = read ? asio::posix::stream_descriptor::wait_read
                     : asio::posix::stream_descriptor::wait_write;
    s->sd.async_wait(type, [self = shared_from_this(), s, read](boost::system::error_code ec) {
      self->on_ready(s, read, ec);
    });
  }

  void on_ready(const std::shared_ptr<Socket>& s, bool read, boost::system::error_code ec) {
    (read ? s->read_pending : s->write_pending) = false;
    if (closed_ || s->closed) return;
    const int bit = read ? CURL_POLL_IN : CURL_POLL_OUT;
    if (!ec) {
      if (s->want & bit) drive(s->fd, read ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
    } else if (ec != asio::error::operation_aborted) {
      drive(s->fd, CURL_CSELECT_ERR);
    }
    // An aborted wait (curl changed its interest meanwhile) may still be wanted: curl
    // does not repeat a request it believes is in place.
    if (!s->closed && (s->want & bit)) arm(s, read);
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    auto it = self->sockets_.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it == self->sockets_.end()) return 0;
      auto s = it->second;
      s->want = 0;
      boost::system::error_code ec;
      s->sd.cancel(ec);  // no stray wait may keep the io_context busy
      if (!s->owned) {
        s->closed = true;
        s->sd.release();
        self->sockets_.erase(it);
      }
      return 0;
    }
    std::shared_ptr<Socket> s;
    if (it != self->sockets_.end()) {
      s = it->second;
    } else {
      // A descriptor curl opened itself (e.g. a resolver's wake-up pipe): watch, never close.
      s = std::make_shared<Socket>(self->strand_);
      s->fd = fd;
      s->owned = false;
      boost::system::error_code ec;
      s->sd.assign(fd, ec);
      if (ec) return -1;
      self->sockets_[fd] = s;
    }
    s->want = what;
    if (what & CURL_POLL_IN) self->arm(s, true);
    if (what & CURL_POLL_OUT) self->arm(s, false);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (self->closed_) return 0;
    if (timeout_ms < 0) {
      self->timer_.cancel();
      return 0;
    }
    // Never call socket_action from inside this callback (curl forbids it).
    if (timeout_ms == 0) {
      // "As soon as possible", which curl asks for on every new transfer: posted to the
      // strand rather than put on the timer, since making a timer the earliest one costs
      // two timerfd_settime calls, and each reprograms the clock (a VM exit on a guest).
      self->timer_.cancel();
      asio::post(self->strand_, [w = self->weak_from_this()] {
        if (auto me = w.lock()) me->drive(CURL_SOCKET_TIMEOUT, 0);
      });
      return 0;
    }
    self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_.async_wait([w = self->weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto me = w.lock()) me->drive(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }

  static curl_socket_t on_open_socket(void* clientp, curlsocktype, curl_sockaddr* addr) {
    auto* self = static_cast<Impl*>(clientp);
    int fd = ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    auto s = std::make_shared<Socket>(self->strand_);
    s->fd = fd;
    boost::system::error_code ec;
    s->sd.assign(fd, ec);
    if (ec) {
      ::close(fd);
      return CURL_SOCKET_BAD;
    }
    if (auto old = self->sockets_.find(fd); old != self->sockets_.end()) {
      // A stale entry for a number the kernel reused: forget it without closing.
      old->second->closed = true;
      old->second->sd.release();
    }
    self->sockets_[fd] = std::move(s);
    return fd;
  }

  static int on_close_socket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(clientp);
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end() || !it->second->owned) {
      if (it != self->sockets_.end()) {
        it->second->closed = true;
        it->second->sd.release();
        self->sockets_.erase(it);
      }
      return ::close(fd);
    }
    auto s = it->second;
    self->sockets_.erase(it);
    s->closed = true;
    boost::system::error_code ec;
    s->sd.cancel(ec);
    s->sd.close(ec);
    return ec ? -1 : 0;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t len = size * n;
    if (t->req->on_body) {
      long status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      if (status >= 200 && status <= 299) {
        if (t->req->on_body(std::string_view(data, len))) return len;
        t->refused = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
      }
    }
    if (t->resp.body.size() + len > t->max_bytes) {
      t->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->resp.body.append(data, len);
    return len;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t len = size * n;
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      t->resp.headers.clear();  // a new response begins (after 100 Continue or a redirect)
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    t->resp.headers.emplace_back(ascii_lowercase(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
    return len;
  }

  HttpClientOptions options_;
  CURLM* multi_ = nullptr;
  asio::steady_timer timer_;
  std::unordered_map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;
  bool closed_ = false;
  static constexpr std::size_t kMaxIdleEasy = 1024;
  std::vector<CURL*> idle_easy_;  // reset easy handles, ready for the next transfer
};

HttpClient::HttpClient(asio::any_io_executor ex, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(ex, options)) {
  keep_handlers_of(ex, impl_);
}

HttpClient::~HttpClient() {
  asio::post(impl_->strand_, [impl = impl_] { impl->close_all(/*complete_handlers=*/true); });
}

asio::awaitable<Result<HttpResponse>> HttpClient::request(HttpRequest req) {
  const auto timeout = req.timeout;
  return request(std::make_shared<const HttpRequest>(std::move(req)), timeout);
}

asio::awaitable<Result<HttpResponse>> HttpClient::request(std::shared_ptr<const HttpRequest> req,
                                                          std::chrono::milliseconds timeout) {
  auto impl = impl_;
  auto initiate = [impl](auto handler, std::shared_ptr<const HttpRequest> r, std::chrono::milliseconds timeout) {
    asio::any_io_executor hex = asio::get_associated_executor(handler, impl->strand_);
    hex = asio::prefer(hex, asio::execution::outstanding_work.tracked);
    const std::uint64_t id = impl->next_id_.fetch_add(1, std::memory_order_relaxed);
    // Type-erase first: any_completion_handler installs its own forwarding state in the
    // caller's slot, so ours goes into the slot it exposes.
    auto completion = std::make_unique<Completion>(std::move(handler));
    auto slot = asio::get_associated_cancellation_slot(*completion);
    if (slot.is_connected()) {
      slot.assign([w = std::weak_ptr<Impl>(impl), id](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto p = w.lock()) asio::post(p->strand_, [p, id] { p->cancel(id); });
      });
    }
    // The cancellation above is posted to the strand after this dispatch, so start()
    // always runs first and cancel() finds the transfer (or nothing, if it finished).
    asio::dispatch(impl->strand_, [impl, id, r = std::move(r), timeout, h = std::move(completion),
                                   hex = std::move(hex)]() mutable {
      impl->start(id, std::move(r), timeout, std::move(h), std::move(hex));
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<HttpResponse>)>(
      std::move(initiate), asio::use_awaitable, std::move(req), timeout);
}

}  // namespace ragd::net
