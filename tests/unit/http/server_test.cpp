// The HTTP server's per-request guards over real loopback HTTP: a route's backstop answers
// 504 and cancels a handler that overruns it; a client that hangs up cancels its handler;
// a handler that finishes in time is not disturbed by either. The framing: pipelined
// requests, a request that trickles in, a request pipelined behind a slow one. And what a
// hostile client tries: headers, chunk extensions and trailers over the limit, requests that
// stop halfway (408), connections that send nothing, escapes in the path. The drain: what
// is answered, refused and closed while requests in flight finish.
#include "ragd/http/router.hpp"
#include "ragd/http/server.hpp"
#include "ragd/metrics/metrics.hpp"

#include "test_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <cerrno>
#include <chrono>
#include <memory>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace ragd::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Counts handlers that were torn down before they finished (cancelled).
struct Probe {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<int> abandoned{0};
};

Handler sleeping_handler(std::shared_ptr<Probe> probe, std::chrono::milliseconds how_long) {
  return [probe, how_long](Request) -> asio::awaitable<Response> {
    ++probe->started;
    struct Guard {
      Probe& p;
      bool done = false;
      ~Guard() {
        if (!done) ++p.abandoned;
      }
    } guard{*probe};
    asio::steady_timer t(co_await asio::this_coro::executor, how_long);
    co_await t.async_wait(asio::use_awaitable);
    guard.done = true;
    ++probe->finished;
    co_return Response::json(200, R"({"ok":true})");
  };
}

ServerConfig loopback_config() {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 1;
  return config;
}

class RunningServer {
 public:
  explicit RunningServer(const Router& router, ServerConfig config = loopback_config()) {
    server_ = std::make_unique<Server>(io_.get_executor(), config, router, metrics_);
    auto listening = server_->listen();
    EXPECT_TRUE(listening) << (listening ? "" : listening.error().message);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningServer() {
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  int port() const { return server_->port(); }
  std::size_t open_connections() const { return server_->open_connections(); }
  std::size_t requests_in_flight() const { return server_->requests_in_flight(); }
  void drain() { server_->drain(); }

 private:
  // Declared first so it outlives the io_context: sessions still open at the end are
  // destroyed with the io_context, and they update the server's metrics as they go.
  metrics::Registry metrics_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST(ServerGuards, ABackstopAnswers504AndCancelsTheHandler) {
  auto slow = std::make_shared<Probe>();
  auto quick = std::make_shared<Probe>();
  Router router;
  router.add("POST", "/slow", sleeping_handler(slow, 10s), 200ms);
  router.add("POST", "/quick", sleeping_handler(quick, 20ms), 2s);
  RunningServer server(router);

  auto start = std::chrono::steady_clock::now();
  auto r = test::http_request(server.port(), "POST", "/slow", "{}", {}, 5s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(took, 5s);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["code"], "deadline_exceeded");
  EXPECT_TRUE(test::wait_until([&] { return slow->abandoned.load() == 1; }, 5s))
      << "the overrunning handler is cancelled, not left running";
  EXPECT_EQ(slow->finished.load(), 0);

  // A handler inside its backstop answers normally, several times on one server.
  for (int i = 0; i < 3; ++i) {
    auto ok = test::http_request(server.port(), "POST", "/quick", "{}", {}, 5s);
    EXPECT_EQ(ok.status, 200) << ok.body;
  }
  EXPECT_EQ(quick->finished.load(), 3);
  EXPECT_EQ(quick->abandoned.load(), 0);
}

// Raw loopback client for the tests where the exact bytes, their timing or a hang-up
// matter.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<unsigned short>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{5, 0};
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  bool send(const std::string& bytes) {
    // MSG_NOSIGNAL: a server that refuses the rest of a request may close while it is sent.
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Reads until the server closes the connection (or 5 s pass); `closed` tells which.
  std::string read_until_close(bool& closed) {
    std::string got;
    char buf[4096];
    closed = false;
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      // A server that closes with bytes of ours unread resets the connection (after the
      // bytes it sent, which recv returns first).
      if (n == 0 || (n < 0 && errno == ECONNRESET)) closed = true;
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  // Reads until `count` responses (by their status lines and bodies ending in '}') arrived,
  // or 5 s passed; returns everything read.
  std::string read_responses(int count) {
    std::string got;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      int seen = 0;
      for (std::size_t at = got.find("HTTP/1.1 "); at != std::string::npos; at = got.find("HTTP/1.1 ", at + 1)) ++seen;
      if (seen >= count && !got.empty() && got.back() == '}') break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

Handler echo_handler() {
  return [](Request req) -> asio::awaitable<Response> {
    co_return Response::json(200, "{\"echo\":" + req.body + "}");
  };
}

std::string post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

Router echo_router() {
  Router router;
  router.add("POST", "/echo", echo_handler(), 2s);
  return router;
}

// A server with the echo route and a raw client connected to it (members in that order).
struct EchoSetup {
  Router router = echo_router();
  RunningServer server{router};
  RawClient client{server.port()};
};

TEST(ServerGuards, AClientThatHangsUpCancelsItsHandler) {
  auto slow = std::make_shared<Probe>();
  Router router;
  router.add("POST", "/slow", sleeping_handler(slow, 10s), 30s);
  RunningServer server(router);

  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(post("/slow", "{}")));
  ASSERT_TRUE(test::wait_until([&] { return slow->started.load() == 1; }, 5s));
  client.close();
  EXPECT_TRUE(test::wait_until([&] { return slow->abandoned.load() == 1; }, 5s))
      << "the handler of a client that left is cancelled";
  EXPECT_EQ(slow->finished.load(), 0);
}


TEST(ServerFraming, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  EchoSetup setup;
  RawClient& client = setup.client;
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(post("/echo", "1") + post("/echo", "2") + post("/echo", "3")));
  auto got = client.read_responses(3);
  auto first = got.find("{\"echo\":1}");
  auto second = got.find("{\"echo\":2}");
  auto third = got.find("{\"echo\":3}");
  ASSERT_NE(first, std::string::npos) << got;
  ASSERT_NE(second, std::string::npos) << got;
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST(ServerFraming, ARequestThatTricklesInIsAnswered) {
  EchoSetup setup;
  RawClient& client = setup.client;
  ASSERT_TRUE(client.connected());
  const std::string req = post("/echo", "[1,2,3]");
  // The request line alone, then the rest of the header, then the body in two pieces.
  const std::size_t cuts[] = {0, 18, req.find("\r\n\r\n") + 4, req.size() - 3, req.size()};
  for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
    ASSERT_TRUE(client.send(req.substr(cuts[i], cuts[i + 1] - cuts[i])));
    std::this_thread::sleep_for(30ms);
  }
  auto got = client.read_responses(1);
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("{\"echo\":[1,2,3]}"), std::string::npos) << got;
}

TEST(ServerFraming, ARequestPipelinedBehindASlowOneDoesNotCancelIt) {
  auto slow = std::make_shared<Probe>();
  Router router;
  router.add("POST", "/slow", sleeping_handler(slow, 200ms), 5s);
  router.add("POST", "/echo", echo_handler(), 2s);
  RunningServer server(router);
  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(post("/slow", "{}")));
  ASSERT_TRUE(test::wait_until([&] { return slow->started.load() == 1; }, 5s));
  // Bytes of the next request while the first runs: not a hang-up.
  ASSERT_TRUE(client.send(post("/echo", "7")));
  auto got = client.read_responses(2);
  EXPECT_NE(got.find("{\"ok\":true}"), std::string::npos) << got;
  EXPECT_NE(got.find("{\"echo\":7}"), std::string::npos) << got;
  EXPECT_EQ(slow->finished.load(), 1);
  EXPECT_EQ(slow->abandoned.load(), 0);
}


TEST(HostPort, ParsesAndRejects) {
  auto hp = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->first, "127.0.0.1");
  EXPECT_EQ(hp->second, 8080);
  EXPECT_EQ(parse_host_port("[::1]:9")->first, "::1");
  EXPECT_FALSE(parse_host_port("localhost"));
  EXPECT_FALSE(parse_host_port("h:99999"));
  EXPECT_FALSE(parse_host_port("h:80x"));
}

// ---- Limits and timeouts a hostile client probes ----

ServerConfig small_limits() {
  ServerConfig config = loopback_config();
  config.header_limit_bytes = 1024;
  config.read_timeout_ms = 300;
  config.idle_timeout_ms = 60000;
  return config;
}

// The status of the one response read before the server closed the connection, or 0.
int status_before_close(RawClient& client, std::string* body = nullptr) {
  bool closed = false;
  const std::string got = client.read_until_close(closed);
  if (!closed || !got.starts_with("HTTP/1.1 ")) return 0;
  if (body != nullptr) *body = got.substr(got.find("\r\n\r\n") + 4);
  return std::stoi(got.substr(9, 3));
}

// A POST /echo whose header (request line, fields and the blank line) is exactly `size`
// bytes, padded by one X-Pad field.
std::string request_with_header_of(std::size_t size) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nX-Pad: ";
  const std::size_t pad = size - head.size() - 4;
  return head + std::string(pad, 'a') + "\r\n\r\n" + "1";
}

TEST(ServerLimits, TheHeaderLimitIsExactToTheByte) {
  Router router = echo_router();
  RunningServer server(router, small_limits());
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.send(request_with_header_of(1024)));
    auto got = client.read_responses(1);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200")) << got;
  }
  RawClient client(server.port());
  ASSERT_TRUE(client.send(request_with_header_of(1025)));
  std::string body;
  EXPECT_EQ(status_before_close(client, &body), 431);
  auto j = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << body;
  EXPECT_EQ(j["error"]["code"], "bad_request");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("1024 bytes"), std::string::npos) << body;
}

TEST(ServerLimits, AHeaderSentInPiecesIsCountedWhole) {
  Router router = echo_router();
  RunningServer server(router, small_limits());
  RawClient client(server.port());
  // About 900 bytes of whole fields, then as many again: each piece is under the limit of
  // 1,024, the header nearly twice it.
  std::string fields;
  for (int i = 0; fields.size() < 880; ++i) fields += "X-F" + std::to_string(i) + ": vvvvvvvvvv\r\n";
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\n" + fields));
  std::this_thread::sleep_for(50ms);  // the pieces arrive apart: not synchronisation
  ASSERT_TRUE(client.send(fields + "Content-Length: 1\r\n\r\n1"));
  EXPECT_EQ(status_before_close(client), 431);
}

// A chunked POST /echo: one chunk "1", the last chunk, then `trailer` and the blank line.
std::string chunked_post(const std::string& first_chunk_line, const std::string& trailer) {
  return "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + first_chunk_line +
         "\r\n1\r\n0\r\n" + trailer + "\r\n";
}

// Sends `bytes` from a thread (the server may stop reading before the end) and returns
// the status answered before the close.
int status_for_large_request(int port, const std::string& bytes, std::string* body = nullptr) {
  RawClient client(port);
  std::thread sender([&] { (void)client.send(bytes); });
  const int status = status_before_close(client, body);
  ::shutdown(client.fd(), SHUT_RDWR);  // unblocks the sender if the server never read it all
  sender.join();
  return status;
}

TEST(ServerLimits, ChunkedTrailersAreBoundedByTheHeaderLimit) {
  Router router = echo_router();
  RunningServer server(router, small_limits());
  // Well-formed trailers within the limit are accepted...
  RawClient ok(server.port());
  ASSERT_TRUE(ok.send(chunked_post("1", "X-Checksum: 1\r\n")));
  auto got = ok.read_responses(1);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200")) << got;
  EXPECT_NE(got.find("{\"echo\":1}"), std::string::npos) << got;
  // ...4 MB of them are not (an unbounded buffer once held them all).
  std::string trailers;
  while (trailers.size() < 4 * 1024 * 1024) trailers += "X-Trailer: " + std::string(100, 't') + "\r\n";
  std::string body;
  EXPECT_EQ(status_for_large_request(server.port(), chunked_post("1", trailers), &body), 431) << body;
  EXPECT_NE(body.find("trailer"), std::string::npos) << body;
}

TEST(ServerLimits, ChunkExtensionsAreBoundedByTheHeaderLimit) {
  Router router = echo_router();
  RunningServer server(router, small_limits());
  std::string body;
  const std::string extension = ";name=" + std::string(4 * 1024 * 1024, 'e');
  EXPECT_EQ(status_for_large_request(server.port(), chunked_post("1" + extension, ""), &body), 400) << body;
  EXPECT_NE(body.find("chunk-size line"), std::string::npos) << body;
}

TEST(ServerTimeouts, AClientThatStopsMidRequestGets408BeforeTheClose) {
  Router router = echo_router();
  RunningServer server(router, small_limits());
  const std::string whole = post("/echo", "[1,2,3,4]");
  // Stopped inside the header, and inside the body.
  for (std::size_t cut : {std::size_t{20}, whole.size() - 3}) {
    RawClient client(server.port());
    ASSERT_TRUE(client.send(whole.substr(0, cut)));
    std::string body;
    EXPECT_EQ(status_before_close(client, &body), 408) << "cut at " << cut;
    auto j = nlohmann::json::parse(body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << body;
    EXPECT_EQ(j["error"]["code"], "bad_request");
    EXPECT_NE(j["error"]["message"].get<std::string>().find("read timeout"), std::string::npos) << body;
  }
}

TEST(ServerTimeouts, AConnectionThatSendsNothingIsClosedAtTheReadTimeout) {
  Router router = echo_router();
  RunningServer server(router, small_limits());  // read timeout 300 ms, idle timeout 60 s
  RawClient client(server.port());
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  const std::string got = client.read_until_close(closed);
  EXPECT_TRUE(closed) << "still open after 5 s";
  EXPECT_EQ(got, "") << "closed without a response";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(ServerTimeouts, SilentConnectionsDoNotKeepOthersOutPastTheReadTimeout) {
  Router router;
  router.add("GET", "/healthz", [](Request) -> asio::awaitable<Response> {
    co_return Response::json(200, R"({"status":"ok"})");
  });
  ServerConfig config = small_limits();
  config.read_timeout_ms = 1000;
  config.max_connections = 4;
  RunningServer server(router, config);
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 4; ++i) silent.push_back(std::make_unique<RawClient>(server.port()));
  ASSERT_TRUE(test::wait_until([&] { return server.open_connections() == 4; }, 5s));
  EXPECT_EQ(test::http_request(server.port(), "GET", "/healthz").status, 503) << "the slots are full";
  EXPECT_TRUE(test::wait_until([&] { return test::http_request(server.port(), "GET", "/healthz").status == 200; }, 3s))
      << "the silent connections still hold every slot";
}

TEST(ServerPaths, PlaceholdersArePercentDecodedAndBadEscapesAre400) {
  Router router;
  router.add("GET", "/v1/documents/{id}", [](Request req) -> asio::awaitable<Response> {
    co_return Response::json(200, nlohmann::json{{"id", req.path_params.at(0)}}.dump());
  });
  RunningServer server(router);
  auto r = test::http_request(server.port(), "GET", "/v1/documents/docs%2Foperations.md");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["id"], "docs/operations.md");
  for (const char* bad : {"/v1/documents/a%2", "/v1/documents/a%zz", "/v1/documents/a%00b", "/v1/documents/a%1Bb"}) {
    auto e = test::http_request(server.port(), "GET", bad);
    EXPECT_EQ(e.status, 400) << bad << " " << e.body;
  }
}

TEST(ServerErrors, AnInternalCauseReachesTheLogNotTheClient) {
  Router router;
  router.add("GET", "/fails", [](Request) -> asio::awaitable<Response> {
    co_return Response::error(make_error(Errc::internal, "unexpected XLEN reply from 10.0.0.5:6379"));
  });
  router.add("GET", "/throws", [](Request) -> asio::awaitable<Response> {
    throw std::runtime_error("faiss: index at /var/lib/ragd is corrupt");
    co_return Response{};
  });
  RunningServer server(router);
  for (const char* path : {"/fails", "/throws"}) {
    auto r = test::http_request(server.port(), "GET", path, {}, {{"X-Request-Id", "req-42"}});
    EXPECT_EQ(r.status, 500) << path;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["code"], "internal");
    EXPECT_EQ(j["error"]["message"], "internal error; see the server log for request req-42") << r.body;
  }
}

// ---- The drain ----

// A handler that runs until the test opens its gate.
struct Gate {
  std::atomic<int> started{0};
  std::atomic<bool> open{false};
};

Handler gated_handler(std::shared_ptr<Gate> gate) {
  return [gate](Request) -> asio::awaitable<Response> {
    ++gate->started;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!gate->open.load()) {
      t.expires_after(5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    co_return Response::json(200, R"({"ok":true})");
  };
}

TEST(ServerDrain, ProbesAreServedAndNewRequestsGet503WhileTheRequestInFlightFinishes) {
  auto gate = std::make_shared<Gate>();
  Router router;
  router.add("POST", "/slow", gated_handler(gate), 30s);
  router.add("POST", "/echo", echo_handler(), 2s);
  router.add("GET", "/probe", [](Request) -> asio::awaitable<Response> {
    co_return Response::json(200, R"({"status":"ok"})");
  }, 0ms, WhileDraining::served);
  RunningServer server(router);

  RawClient busy(server.port());
  ASSERT_TRUE(busy.connected());
  ASSERT_TRUE(busy.send(post("/slow", "{}")));
  ASSERT_TRUE(test::wait_until([&] { return gate->started.load() == 1; }, 5s));
  // A kept-alive connection between two requests.
  RawClient idle(server.port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send(post("/echo", "1")));
  const std::string before = idle.read_responses(1);
  ASSERT_NE(before.find("HTTP/1.1 200"), std::string::npos) << before;
  ASSERT_EQ(before.find("Connection: close"), std::string::npos) << before;

  server.drain();
  bool closed = false;
  EXPECT_EQ(idle.read_until_close(closed), "");
  EXPECT_TRUE(closed) << "a kept-alive connection waiting for its next request is closed";

  // The listener still accepts: a probe is served, anything else refused at once.
  auto probe = test::http_request(server.port(), "GET", "/probe", {}, {}, 5s);
  EXPECT_EQ(probe.status, 200) << probe.body;
  EXPECT_EQ(probe.headers["connection"], "close");
  for (const char* path : {"/echo", "/nowhere"}) {
    auto refused = test::http_request(server.port(), "POST", path, "{}", {}, 5s);
    EXPECT_EQ(refused.status, 503) << path << " " << refused.body;
    EXPECT_EQ(refused.headers["retry-after"], "1") << path;
    EXPECT_EQ(refused.headers["connection"], "close") << path;
    auto j = nlohmann::json::parse(refused.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << refused.body;
    EXPECT_EQ(j["error"]["code"], "unavailable");
    EXPECT_NE(j["error"]["message"].get<std::string>().find("shutting down"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(server.requests_in_flight(), 1u) << "only the request that was in flight counts";

  gate->open = true;
  const std::string answer = busy.read_until_close(closed);
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_TRUE(closed);
  EXPECT_EQ(server.requests_in_flight(), 0u);
}

}  // namespace
}  // namespace ragd::http
