// POST /query with "stream": true over real HTTP on loopback: ragd, ragd-worker processes,
// redis-server and fake-llm streaming. The events (sources before the model starts, the
// answer's pieces, done), the cache (a hit streams at once, a miss is stored once complete),
// single-flight followers, HTTP/1.0 clients (no chunks: the body ends with the connection),
// and the ends a stream can come to: the client hangs up (the job is cancelled and the model
// call aborted), the client reads too slowly (the stream is cut), a worker dies before the
// first piece (the job is retried) or after it (an error event; the partial answer is neither
// cached nor kept in the session).
#include "sse_client.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

namespace ragd::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string corpus_dir() { return source_path("tests/data/corpus"); }

// A stack whose workers call `llm` and heartbeat quickly, so a dead one's jobs move soon.
struct StreamStack {
  TempDir dir;
  FakeLlm& llm;
  std::optional<Stack> stack;

  explicit StreamStack(FakeLlm& l, json gateway = json::object(), bool start_worker = true) : llm(l) {
    const std::string worker_config = dir.path() + "/worker.json";
    std::ofstream(worker_config) << json{{"queue", {{"heartbeat_interval_ms", 100}, {"worker_stale_ms", 600}}}}.dump();
    StackOptions o;
    o.gateway_config = json{{"queue", {{"heartbeat_interval_ms", 100}, {"worker_stale_ms", 600}}}};
    o.gateway_config.merge_patch(gateway);
    o.worker_args = {"--config", worker_config, "--llm-base-url", llm.base_url()};
    o.start_worker = start_worker;
    stack.emplace(std::move(o));
    auto ingest = stack->ingest_dir(corpus_dir());
    if (ingest.status != 200) throw std::runtime_error("ingest failed: " + ingest.body);
  }
  Stack* operator->() { return &*stack; }

  std::unique_ptr<SseClient> ask(const json& body, int receive_buffer = 0) {
    json b = body;
    b["stream"] = true;
    return std::make_unique<SseClient>(stack->port(), "/query", b.dump(), std::map<std::string, std::string>{},
                                       receive_buffer);
  }
  // The same request as HTTP/1.0, which knows no chunked encoding.
  std::unique_ptr<SseClient> ask_http10(const json& body, std::map<std::string, std::string> headers = {}) {
    json b = body;
    b["stream"] = true;
    return std::make_unique<SseClient>(stack->port(), "/query", b.dump(), headers, 0, "HTTP/1.0");
  }
  std::string cached_answers() { return stack->redis().cli({"KEYS", "ragd:cache:answers:*"}); }
};

struct Events {
  std::vector<SseEvent> list;
  std::string text;  // the deltas joined
  int deltas = 0;
};

// Reads events until done or error (or the body ends).
Events read_all(SseClient& c, std::chrono::milliseconds limit = 30s) {
  Events out;
  while (auto e = c.next_event(limit)) {
    out.list.push_back(*e);
    if (e->event == "delta") {
      out.text += json::parse(e->data).at("text").get<std::string>();
      ++out.deltas;
    }
    if (e->event == "done" || e->event == "error") break;
  }
  return out;
}

int stat(FakeLlm& llm, const std::string& name) { return llm.stats().value(name, -1); }

TEST(QueryStream, SendsSourcesThenThePiecesOfTheAnswerThenDoneAndAHitStreamsAtOnce) {
  FakeLlm llm({"--answer-words", "40", "--first-token-ms", "100", "--inter-token-ms", "5"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto c = s.ask({{"query", "How do I scale workers?"}});
  ASSERT_TRUE(c->read_head());
  EXPECT_EQ(c->status, 200);
  EXPECT_EQ(c->headers["content-type"], "text/event-stream");
  EXPECT_EQ(c->headers["transfer-encoding"], "chunked");
  auto ev = read_all(*c);
  ASSERT_GE(ev.list.size(), 4u);
  EXPECT_EQ(ev.list.front().event, "sources");
  auto sources = json::parse(ev.list.front().data);
  EXPECT_FALSE(sources.at("sources").empty());
  EXPECT_EQ(ev.list.back().event, "done") << ev.list.back().data;
  EXPECT_GE(ev.deltas, 3);  // 40 words 5 ms apart, coalesced by the worker into a few entries
  auto done = json::parse(ev.list.back().data);
  EXPECT_EQ(done.at("cache"), "miss");
  const double first = done.at("timings_ms").at("first_token").get<double>();
  EXPECT_GE(first, 100.0);  // the model's own first-token delay
  EXPECT_LT(first, done.at("timings_ms").at("total").get<double>());
  EXPECT_GT(done.at("usage").at("completion_tokens").get<int>(), 0);
  EXPECT_TRUE(ev.text.starts_with("fake answer to:")) << ev.text;

  // The answer was stored once complete: the same question without streaming is a hit, and
  // its text is what the stream delivered.
  auto plain = s->post("/query", {{"query", "How do I scale workers?"}});
  ASSERT_EQ(plain.status, 200) << plain.body;
  auto pj = json::parse(plain.body);
  EXPECT_EQ(pj.at("cache"), "hit");
  EXPECT_EQ(pj.at("answer"), ev.text);

  // A streamed hit: sources, the whole answer in one piece, done.
  auto again = s.ask({{"query", "How do I scale workers?"}});
  ASSERT_TRUE(again->read_head());
  auto hit = read_all(*again);
  ASSERT_EQ(hit.list.size(), 3u);
  EXPECT_EQ(hit.list[0].event, "sources");
  EXPECT_EQ(json::parse(hit.list[0].data).at("sources"), sources.at("sources"));
  EXPECT_EQ(hit.text, ev.text);
  EXPECT_EQ(json::parse(hit.list[2].data).at("cache"), "hit");
  EXPECT_TRUE(again->next_event(5s) == std::nullopt && again->ended());
  EXPECT_EQ(stat(llm, "stream_calls"), 1);
}

// The bytes a well-formed event stream of `events` consists of, and nothing else.
std::string serialized(const std::vector<SseEvent>& events) {
  std::string out;
  for (const auto& e : events) out += "event: " + e.event + "\ndata: " + e.data + "\n\n";
  return out;
}

// An HTTP/1.0 client cannot read chunked encoding and has no other way to find the end of a
// body of unknown length than the connection's end: the events come as plain bytes, and the
// server closes the connection after `done`, also when the client asked for keep-alive.
void expect_close_delimited_stream(SseClient& c) {
  ASSERT_TRUE(c.read_head());
  EXPECT_EQ(c.status_line.substr(0, 12), "HTTP/1.0 200") << c.status_line;
  EXPECT_EQ(c.headers["content-type"], "text/event-stream");
  EXPECT_EQ(c.headers.count("transfer-encoding"), 0u) << c.headers["transfer-encoding"];
  EXPECT_EQ(c.headers.count("content-length"), 0u) << c.headers["content-length"];
  EXPECT_EQ(c.headers["connection"], "close");
  auto ev = read_all(c);
  ASSERT_GE(ev.list.size(), 4u);
  EXPECT_EQ(ev.list.front().event, "sources");
  EXPECT_FALSE(json::parse(ev.list.front().data).at("sources").empty());
  for (std::size_t i = 1; i + 1 < ev.list.size(); ++i) EXPECT_EQ(ev.list[i].event, "delta") << i;
  EXPECT_EQ(ev.list.back().event, "done") << ev.list.back().data;
  EXPECT_GE(ev.deltas, 2);
  EXPECT_TRUE(ev.text.starts_with("fake answer to:")) << ev.text;
  EXPECT_EQ(json::parse(ev.list.back().data).at("cache"), "miss");
  // The server ends the body by closing: the read after done finds the end of the connection
  // (a server that kept it open would leave this read waiting out its limit).
  EXPECT_TRUE(c.next_event(10s) == std::nullopt);
  EXPECT_TRUE(c.ended());
  // Nothing but the events crossed the wire: no chunk sizes, no terminating chunk.
  EXPECT_EQ(c.transcript(), serialized(ev.list));
}

TEST(QueryStream, AnHttp10ClientGetsTheEventsUnchunkedAndTheServerClosesAtTheEnd) {
  FakeLlm llm({"--answer-words", "40", "--first-token-ms", "50", "--inter-token-ms", "5"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto c = s.ask_http10({{"query", "How do I scale workers?"}});
  expect_close_delimited_stream(*c);
}

TEST(QueryStream, AnHttp10ClientAskingForKeepAliveStillGetsAStreamEndedByClosing) {
  FakeLlm llm({"--answer-words", "40", "--first-token-ms", "50", "--inter-token-ms", "5"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto c = s.ask_http10({{"query", "How do I scale workers?"}}, {{"Connection", "keep-alive"}});
  expect_close_delimited_stream(*c);
}

TEST(QueryStream, ErrorsBeforeTheStreamStartsKeepTheirStatus) {
  FakeLlm llm;
  StreamStack s(llm);
  auto c = std::make_unique<SseClient>(s->port(), "/query", R"({"query": "x", "stream": "yes"})");
  ASSERT_TRUE(c->read_head());
  EXPECT_EQ(c->status, 400);
  EXPECT_EQ(c->headers["content-type"], "application/json");
}

TEST(QueryStream, AClientThatHangsUpCancelsTheJobAndAbortsTheModelCall) {
  // 2,000 words 5 ms apart: ten seconds of answer unless the call is aborted.
  FakeLlm llm({"--answer-words", "2000", "--inter-token-ms", "5"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto c = s.ask({{"query", "How do I scale workers?"}});
  ASSERT_TRUE(c->read_head());
  std::optional<SseEvent> e;
  while ((e = c->next_event(20s)) && e->event != "delta") {
  }
  ASSERT_TRUE(e.has_value());
  const auto t0 = std::chrono::steady_clock::now();
  c->close();
  ASSERT_TRUE(wait_until([&] { return stat(llm, "streams_aborted") == 1; }, 5s)) << llm.stats().dump();
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[query_stream] hang-up to model call aborted: " << ms << " ms (polled)\n";
  EXPECT_EQ(stat(llm, "streams_completed"), 0);
  // Nothing was cached: the next ask computes again.
  EXPECT_EQ(s.cached_answers(), "");
}

TEST(QueryStream, AReaderSlowerThanTheAnswerIsCutAndItsJobCancelled) {
  // Fast and long: 200,000 words with no delay between them.
  FakeLlm llm({"--answer-words", "200000"});
  StreamStack s(llm, {{"server", {{"max_stream_buffer_bytes", 16384}}}});
  ASSERT_TRUE(s->wait_ready());
  // A client with a small window that reads the head and then nothing.
  auto c = s.ask({{"query", "How do I scale workers?"}}, 2048);
  ASSERT_TRUE(c->read_head());
  ASSERT_TRUE(wait_until([&] { return stat(llm, "streams_aborted") == 1; }, 20s)) << llm.stats().dump();
  EXPECT_EQ(stat(llm, "streams_completed"), 0);
  // The server closed the connection: reading on finds the end without a done event.
  Events rest = read_all(*c, 10s);
  for (const auto& ev : rest.list) EXPECT_NE(ev.event, "done");
  EXPECT_EQ(s.cached_answers(), "");
}

TEST(QueryStream, FollowersOfOneComputationReceiveTheSameStream) {
  FakeLlm llm({"--answer-words", "60", "--first-token-ms", "300", "--inter-token-ms", "5"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto a = s.ask({{"query", "What is a dead letter?"}});
  ASSERT_TRUE(a->read_head());
  ASSERT_TRUE(wait_until([&] { return stat(llm, "stream_calls") == 1; }, 10s));
  auto b = s.ask({{"query", "What is a dead letter?"}});
  ASSERT_TRUE(b->read_head());
  auto ea = read_all(*a);
  auto eb = read_all(*b);
  ASSERT_EQ(ea.list.back().event, "done");
  ASSERT_EQ(eb.list.back().event, "done");
  EXPECT_EQ(ea.text, eb.text);
  EXPECT_EQ(ea.list.front().data.substr(ea.list.front().data.find("\"sources\"")),
            eb.list.front().data.substr(eb.list.front().data.find("\"sources\"")));
  EXPECT_EQ(json::parse(eb.list.back().data).at("cache"), "miss");
  EXPECT_EQ(stat(llm, "stream_calls"), 1);
}

TEST(QueryStream, AWorkerThatDiesBeforeTheFirstPieceHasItsJobRetried) {
  // The model takes three seconds to start: the worker is killed while it waits.
  FakeLlm llm({"--answer-words", "20", "--first-token-ms", "3000"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto c = s.ask({{"query", "How do I scale workers?"}});
  ASSERT_TRUE(c->read_head());
  ASSERT_TRUE(wait_until([&] { return stat(llm, "stream_calls") == 1; }, 10s));
  s->worker(0).signal(SIGKILL);
  ASSERT_TRUE(s->worker(0).wait(5s).has_value());
  s->start_worker();
  auto ev = read_all(*c, 30s);
  ASSERT_FALSE(ev.list.empty());
  EXPECT_EQ(ev.list.back().event, "done") << ev.list.back().data;
  EXPECT_EQ(ev.text.rfind("fake answer to:", 0), 0u) << ev.text;
  EXPECT_EQ(stat(llm, "stream_calls"), 2);
}

TEST(QueryStream, AWorkerThatDiesMidAnswerEndsTheStreamWithAnErrorAndKeepsNothing) {
  FakeLlm llm({"--answer-words", "400", "--inter-token-ms", "10"});
  StreamStack s(llm);
  ASSERT_TRUE(s->wait_ready());
  auto c = s.ask({{"query", "How do I scale workers?"}, {"session_id", "s1"}});
  ASSERT_TRUE(c->read_head());
  std::optional<SseEvent> e;
  while ((e = c->next_event(20s)) && e->event != "delta") {
  }
  ASSERT_TRUE(e.has_value());
  s->worker(0).signal(SIGKILL);
  ASSERT_TRUE(s->worker(0).wait(5s).has_value());
  s->start_worker();
  auto ev = read_all(*c, 30s);
  ASSERT_FALSE(ev.list.empty());
  EXPECT_EQ(ev.list.back().event, "error");
  EXPECT_EQ(json::parse(ev.list.back().data).at("error").at("code"), "upstream_error") << ev.list.back().data;
  // The stream ended properly after the error event, and kept nothing.
  EXPECT_TRUE(c->next_event(5s) == std::nullopt && c->ended());
  EXPECT_EQ(s.cached_answers(), "");
  EXPECT_EQ(s->redis().cli({"LLEN", "ragd:session:{s1}"}), "0");
}

}  // namespace
}  // namespace ragd::test
