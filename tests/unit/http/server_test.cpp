// The HTTP server's per-request guards over real loopback HTTP: a route's backstop answers
// 504 and cancels a handler that overruns it; a client that hangs up cancels its handler;
// a handler that finishes in time is not disturbed by either. And the framing: pipelined
// requests, a request that trickles in, a request pipelined behind a slow one.
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
#include <chrono>
#include <memory>
#include <iterator>
#include <string>
#include <thread>

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

class RunningServer {
 public:
  explicit RunningServer(const Router& router) {
    ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.threads = 1;
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
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size());
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

}  // namespace
}  // namespace ragd::http
