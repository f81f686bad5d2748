#include "ragd/net/http_client.hpp"

#include "fake_llm.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ragd::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeLlm;

const std::string kChatBody = R"({"model":"m","messages":[{"role":"user","content":"ping"}]})";

HttpRequest chat_request(const FakeLlm& fake, std::chrono::milliseconds timeout = 10s) {
  HttpRequest req;
  req.url = fake.url("/v1/chat/completions");
  req.headers = {{"Content-Type", "application/json"}};
  req.body = kChatBody;
  req.timeout = timeout;
  return req;
}

Result<HttpResponse> run_one(HttpRequest req, std::chrono::milliseconds limit = 30s) {
  return test::run_coro<Result<HttpResponse>>(
      [req](asio::io_context& io) -> asio::awaitable<Result<HttpResponse>> {
        HttpClient client(io.get_executor());
        co_return co_await client.request(req);
      },
      limit);
}

TEST(HttpClient, GetsStatusBodyAndLowerCaseHeaders) {
  FakeLlm fake;
  HttpRequest req;
  req.method = "GET";
  req.url = fake.url("/healthz");
  auto r = run_one(req);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"ok"})");
  EXPECT_EQ(r->header("content-type"), "application/json");
}

TEST(HttpClient, PostsABodyAndReturnsErrorStatusesAsResponses) {
  FakeLlm fake;
  auto ok = run_one(chat_request(fake));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("fake answer to: ping"), std::string::npos) << ok->body;

  auto bad = chat_request(fake);
  bad.body = "{not json";
  auto r = run_one(bad);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("invalid_request_error"), std::string::npos);
}

TEST(HttpClient, ServesOneHundredConcurrentRequestsOnOneClient) {
  FakeLlm fake({"--latency-ms", "20"});
  constexpr int kRequests = 100;
  asio::io_context io;
  int ok = 0, done = 0;
  {
    HttpClient client(io.get_executor());
    for (int i = 0; i < kRequests; ++i) {
      asio::co_spawn(io, client.request(chat_request(fake)),
                     [&](std::exception_ptr e, Result<HttpResponse> r) {
                       ++done;
                       if (!e && r && r->status == 200 && r->body.find("fake answer") != std::string::npos) ++ok;
                     });
    }
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (done < kRequests && std::chrono::steady_clock::now() < until) io.run_one_for(50ms);
  }
  EXPECT_EQ(done, kRequests);
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(fake.stat("chat_calls"), kRequests);
}

TEST(HttpClient, ReusesItsConnectionAcrossRequests) {
  FakeLlm fake;
  const auto before = fake.stat("connections_accepted");
  auto statuses = test::run_coro<std::vector<int>>(
      [&fake](asio::io_context& io) -> asio::awaitable<std::vector<int>> {
        HttpClient client(io.get_executor());
        std::vector<int> out;
        for (int i = 0; i < 5; ++i) {
          auto r = co_await client.request(chat_request(fake));
          out.push_back(r ? r->status : -1);
        }
        co_return out;
      });
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 200, 200}));
  // One connection for the five requests, plus the one this GET /stats arrived on.
  EXPECT_EQ(fake.stat("connections_accepted") - before, 2);
}

// Easy handles are reset and reused from one transfer to the next: nothing of a request
// (method, body, headers, timeout, the no-body flag of a HEAD) may carry over to the next.
TEST(HttpClient, NothingOfOneRequestCarriesOverToTheNext) {
  FakeLlm slow({"--latency-ms", "400"});
  FakeLlm hanging({"--hang-rate", "1"});
  auto results = test::run_coro<std::vector<std::string>>(
      [&](asio::io_context& io) -> asio::awaitable<std::vector<std::string>> {
        HttpClient client(io.get_executor());
        std::vector<std::string> out;
        auto note = [&out](const Result<HttpResponse>& r) {
          out.push_back(r ? std::to_string(r->status) + " " + r->body
                          : "error " + std::string(to_string(r.error().code)));
        };
        for (int round = 0; round < 2; ++round) {
          HttpRequest head;
          head.method = "HEAD";
          head.url = slow.url("/healthz");
          note(co_await client.request(head));
          HttpRequest get;
          get.method = "GET";
          get.url = slow.url("/healthz");
          note(co_await client.request(get));  // a body again: NOBODY was reset
          HttpRequest del;
          del.method = "DELETE";
          del.url = slow.url("/v1/chat/completions");
          note(co_await client.request(del));
          // Times out at 200 ms; the next request, with no timeout, waits 400 ms for its answer.
          note(co_await client.request(chat_request(hanging, 200ms)));
          HttpRequest chat = chat_request(slow, 0ms);
          note(co_await client.request(chat));  // a POST again, with its body and headers
        }
        co_return out;
      },
      60s);
  ASSERT_EQ(results.size(), 10u);
  for (std::size_t round = 0; round < 2; ++round) {
    const auto* r = results.data() + round * 5;
    EXPECT_EQ(r[0], "200 ") << "HEAD";
    EXPECT_EQ(r[1], R"(200 {"status":"ok"})") << "GET after HEAD";
    EXPECT_NE(r[2].substr(0, 3), "200") << "DELETE: " << r[2];
    EXPECT_EQ(r[3], "error deadline_exceeded");
    EXPECT_EQ(r[4].substr(0, 4), "200 ") << r[4];
    EXPECT_NE(r[4].find("fake answer to: ping"), std::string::npos) << r[4];
  }
}

TEST(HttpClient, TimesOutWithDeadlineExceeded) {
  FakeLlm fake({"--hang-rate", "1"});
  auto r = run_one(chat_request(fake, 300ms));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded) << r.error().message;
}

TEST(HttpClient, ReportsConnectionRefusedAsUnavailable) {
  HttpRequest req;
  req.method = "GET";
  const std::string base = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/healthz";
  req.url = "http://user:secret-password@" + base.substr(7) + "?key=secret-key";
  req.timeout = 5s;
  auto r = run_one(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().message;
  // The address is the log's, not the message's (which a client may be shown).
  EXPECT_EQ(r.error().message.find("127.0.0.1"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message, "Couldn't connect to server");
  // The detail says where, but not the URL's credentials or query (a key may travel there).
  EXPECT_EQ(r.error().detail.find("GET " + base + ": "), 0u) << r.error().detail;
  EXPECT_EQ(r.error().detail.find("secret"), std::string::npos) << r.error().detail;
}

TEST(HttpClient, RejectsAMalformedUrl) {
  HttpRequest req;
  req.url = "ftp://127.0.0.1/x";
  auto r = run_one(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::bad_request) << r.error().message;
}

TEST(HttpClient, CancellingTheAwaitingCoroutineEndsAnInFlightRequest) {
  FakeLlm fake({"--hang-rate", "1"});
  asio::io_context io;
  asio::cancellation_signal cancel;
  std::optional<Result<HttpResponse>> got;
  HttpClient client(io.get_executor());
  asio::co_spawn(io, client.request(chat_request(fake, 60s)),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, Result<HttpResponse> r) {
                   if (!e) got.emplace(std::move(r));
                   else got.emplace(make_error(Errc::internal, "exception"));
                 }));
  // Cancel once the server has the request, so it is really in flight.
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (fake.stat("hangs_injected") == 0 && std::chrono::steady_clock::now() < until) io.run_for(20ms);
  ASSERT_EQ(fake.stat("hangs_injected"), 1);
  cancel.emit(asio::cancellation_type::terminal);
  while (!got && std::chrono::steady_clock::now() < until) io.run_one_for(50ms);
  ASSERT_TRUE(got.has_value()) << "the cancelled request did not complete";
  ASSERT_FALSE(got->has_value());
  EXPECT_EQ(got->error().code, Errc::cancelled) << got->error().message;
}

TEST(HttpClient, DestroyingTheClientCompletesPendingRequestsAsCancelled) {
  FakeLlm fake({"--hang-rate", "1"});
  asio::io_context io;
  std::optional<Result<HttpResponse>> got;
  auto client = std::make_unique<HttpClient>(io.get_executor());
  asio::co_spawn(io, client->request(chat_request(fake, 60s)), [&](std::exception_ptr, Result<HttpResponse> r) {
    got.emplace(std::move(r));
  });
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (fake.stat("hangs_injected") == 0 && std::chrono::steady_clock::now() < until) io.run_for(20ms);
  client.reset();
  while (!got && std::chrono::steady_clock::now() < until) io.run_one_for(50ms);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->has_value());
  EXPECT_EQ(got->error().code, Errc::cancelled);
}

// The usual shape of a caller: an object that owns its client and whose coroutine, holding
// the object, awaits a request. Destroying the io_context with that request in flight frees
// the coroutine, the object and the client (before, the transfer kept the coroutine, the
// coroutine the object, the object the client and the client the transfer: a leak, which
// LeakSanitizer reported when a worker exited at the end of its grace period).
TEST(HttpClient, AnIoContextDestroyedWithARequestInFlightFreesItsCallerAndTheClient) {
  FakeLlm fake({"--hang-rate", "1"});
  struct Caller {
    explicit Caller(asio::any_io_executor ex) : http(std::move(ex)) {}
    HttpClient http;
  };
  std::weak_ptr<Caller> watch;
  bool resumed = false;
  {
    asio::io_context io;
    auto caller = std::make_shared<Caller>(io.get_executor());
    watch = caller;
    auto ask = [](std::shared_ptr<Caller> self, HttpRequest req, bool& resumed) -> asio::awaitable<void> {
      co_await self->http.request(std::move(req));
      resumed = true;
    };
    asio::co_spawn(io, ask(std::move(caller), chat_request(fake, 60s), resumed), asio::detached);
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (fake.stat("hangs_injected") == 0 && std::chrono::steady_clock::now() < until) io.run_for(20ms);
    ASSERT_EQ(fake.stat("hangs_injected"), 1);
    ASSERT_FALSE(watch.expired());
  }
  EXPECT_FALSE(resumed);
  EXPECT_TRUE(watch.expired()) << "the caller, its coroutine and its client outlived their io_context";
}

}  // namespace
}  // namespace ragd::net

namespace ragd::net {
namespace {

// The fake LLM's own request handling (it reads chat requests with ragd's JsonValue).
Result<HttpResponse> post_chat(const FakeLlm& fake, std::string body) {
  HttpRequest req = chat_request(fake);
  req.body = std::move(body);
  auto r = run_one(req);
  if (!r) return make_error(Errc::internal, "no answer in time");
  return *r;
}

TEST(FakeLlmServer, AnswersTheLastUserMessageInStringOrMultipartForm) {
  FakeLlm fake;
  auto plain = post_chat(fake, R"({"messages":[{"role":"system","content":"ctx"},{"role":"user","content":"first"},)"
                               R"({"role":"assistant","content":null},{"role":"user","content":"caf\u00e9 \"two\""}]})");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->status, 200);
  auto j = nlohmann::json::parse(plain->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "fake answer to: caf\xc3\xa9 \"two\"");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 4);  // ctx, first, café, "two"

  auto parts = post_chat(fake, R"({"model":"x","messages":[{"role":"user","content":[{"type":"text","text":"a "},)"
                               R"({"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"b"}]}]})");
  ASSERT_TRUE(parts) << parts.error().message;
  auto k = nlohmann::json::parse(parts->body);
  EXPECT_EQ(k["choices"][0]["message"]["content"], "fake answer to: a b");
  EXPECT_EQ(k["model"], "x");
}

TEST(FakeLlmServer, RefusesMalformedChatRequestsWith400) {
  FakeLlm fake;
  for (const char* bad : {"not json", "[1]", R"({"messages":[]})", R"({"messages":[{"content":"no role"}]})",
                          R"({"messages":"x"})", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"}) {
    auto r = post_chat(fake, bad);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 400) << bad;
  }
  EXPECT_EQ(fake.stat("bad_requests"), 6);
}

TEST(FakeLlmServer, StreamsWithUsageWhenAsked) {
  FakeLlm fake;
  auto r = post_chat(fake, R"({"stream":true,"stream_options":{"include_usage":true},)"
                           R"("messages":[{"role":"user","content":"hi there"}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"usage\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(fake.stat("stream_calls"), 1);
}

}  // namespace
}  // namespace ragd::net
