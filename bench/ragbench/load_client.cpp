#include "ragd/core/completion_token.hpp"

#include "ragbench/load_client.hpp"

#include "ragbench/proc_stats.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

namespace ragd::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Each I/O thread records into its own shard; the index is set before the thread runs.
thread_local std::size_t t_shard = 0;

struct StepContext {
  LoadTarget target;
  StepPlan plan;
  tcp::resolver::results_type endpoints;
  Clock::time_point origin;         // load starts
  Clock::time_point measure_start;  // warm-up over
  Clock::time_point end;            // no new request after this
  Clock::time_point first_end;      // soak windows: first and last 10% of the measured window
  Clock::time_point last_start;
  std::vector<RunShard> shards;
  LiveCounters* live = nullptr;
  std::atomic<std::uint64_t> issued{0};
  http::verb verb = http::verb::post;
};

struct Exchange {
  std::string error;   // empty on a 2xx answer: "http_503", "timeout", "connect", "io"
  std::string cache;   // the answer's cache field, when it has one
  std::optional<Clock::time_point> first_token;  // streamed: the first `event: delta` arrived
};

std::uint64_t micros_between(Clock::time_point a, Clock::time_point b) {
  return b > a ? static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count()) : 0;
}

void record(StepContext& ctx, std::size_t scenario, Clock::time_point intended, Clock::time_point done,
            const Exchange& ex) {
  if (ex.error.empty()) ctx.live->ok.fetch_add(1, std::memory_order_relaxed);
  else ctx.live->errors.fetch_add(1, std::memory_order_relaxed);
  // Closed loop: what completes inside the window. Open loop: what was due inside it,
  // however late it completes (that lateness is the point of the measurement).
  const Clock::time_point t = ctx.plan.open_loop ? intended : done;
  if (t < ctx.measure_start || (!ctx.plan.open_loop && done > ctx.end)) return;
  RunShard& shard = ctx.shards[t_shard];
  const std::uint64_t us = micros_between(intended, done);
  if (ex.error.empty()) {
    const std::uint64_t ttft = ex.first_token ? std::max<std::uint64_t>(1, micros_between(intended, *ex.first_token)) : 0;
    shard.total.record_ok(us, ex.cache, ttft);
    if (scenario < shard.per_scenario.size()) shard.per_scenario[scenario].record_ok(us, ex.cache, ttft);
    if (t < ctx.first_end) shard.first_window.record(us);
    if (t >= ctx.last_start) shard.last_window.record(us);
  } else {
    shard.total.record_error(ex.error);
    if (scenario < shard.per_scenario.size()) shard.per_scenario[scenario].record_error(ex.error);
  }
}

// One request on a keep-alive connection, (re)connecting first when needed. The whole
// exchange has one deadline: the tcp_stream's expiry.
asio::awaitable<Exchange> exchange(StepContext& ctx, beast::tcp_stream& stream, bool& connected,
                                   beast::flat_buffer& buffer, const http::request<http::string_body>& req,
                                   Clock::time_point deadline) {
  Exchange ex;
  stream.expires_at(deadline);
  if (!connected) {
    auto [ec, ep] = co_await stream.async_connect(ctx.endpoints, kNoThrow);
    if (ec) {
      ex.error = ec == beast::error::timeout ? "timeout" : "connect";
      stream.close();
      co_return ex;
    }
    stream.socket().set_option(tcp::no_delay(true));
    connected = true;
    buffer.clear();
  }
  auto [wec, wn] = co_await http::async_write(stream, req, kNoThrow);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  beast::error_code rec;
  if (!wec && !ctx.target.stream) {
    auto [ec, rn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    rec = ec;
  } else if (!wec) {
    // Read as it comes, watching for the first piece of the answer.
    auto [ec, rn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    rec = ec;
    std::size_t searched = 0;
    while (!rec && !parser.is_done()) {
      auto [e, n] = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
      rec = e;
      const std::string& body = parser.get().body();
      if (!ex.first_token && body.find("event: delta", searched) != std::string::npos) ex.first_token = Clock::now();
      searched = body.size() > 12 ? body.size() - 12 : 0;
    }
  }
  auto& res = parser.get();
  const unsigned status = res.result_int();
  if (status < 200 || status >= 300) {
    ex.error = "http_" + std::to_string(status);
    co_return ex;
  }
  if (auto c = find_json_string_field(res.body(), "cache")) ex.cache = std::string(*c);
  co_return ex;
}

// Beast reads max(512, free capacity) bytes at a time into a flat_buffer, and a string_body
// response leaves the buffer's capacity where it was: an answer of a few KiB would take a
// dozen recvmsg calls. Room for a whole typical response makes it one or two.
beast::flat_buffer response_buffer() {
  beast::flat_buffer buffer;
  buffer.reserve(64 * 1024);
  return buffer;
}

http::request<http::string_body> base_request(const StepContext& ctx) {
  http::request<http::string_body> req{ctx.verb, ctx.target.path, 11};
  req.set(http::field::host, ctx.target.url.host_header());
  req.set(http::field::user_agent, "ragbench/" RAGD_VERSION);
  req.keep_alive(true);
  if (!ctx.target.api_key.empty()) req.set(http::field::authorization, "Bearer " + ctx.target.api_key);
  if (ctx.target.mix) req.set(http::field::content_type, "application/json");
  return req;
}

// The request's body from the mix; with --stream, asking for the answer as events.
void set_body(const StepContext& ctx, http::request<http::string_body>& req, std::string body) {
  if (ctx.target.stream && body.size() > 1 && body.front() == '{') {
    body.insert(1, body.size() > 2 && body[1] != '}' ? "\"stream\":true," : "\"stream\":true");
  }
  req.body() = std::move(body);
  req.prepare_payload();
}

bool take_request_slot(StepContext& ctx) {
  if (ctx.plan.max_requests == 0) return true;
  return ctx.issued.fetch_add(1, std::memory_order_relaxed) < ctx.plan.max_requests;
}

// A connection error is answered by a short pause, so a refused port is not a busy loop.
asio::awaitable<void> pause_after_error(const Exchange& ex) {
  if (ex.error != "connect") co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
  co_await t.async_wait(kNoThrow);
}

asio::awaitable<void> closed_loop_connection(StepContext& ctx, std::size_t id) {
  Rng rng(ctx.target.seed ^ (ctx.plan.seed_salt * 0x9E3779B97F4A7C15ULL) ^ (id * 0xBF58476D1CE4E5B9ULL));
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer = response_buffer();
  bool connected = false;
  auto req = base_request(ctx);
  while (true) {
    const auto start = Clock::now();
    if (start >= ctx.end || !take_request_slot(ctx)) break;
    std::size_t scenario = 0;
    if (ctx.target.mix) {
      auto q = ctx.target.mix->next(rng);
      scenario = q.scenario;
      set_body(ctx, req, std::move(q.body));
    }
    Exchange ex = co_await exchange(ctx, stream, connected, buffer, req, start + ctx.target.timeout);
    record(ctx, scenario, start, Clock::now(), ex);
    co_await pause_after_error(ex);
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// wrk2's scheme: the arrival process is split evenly over the connections, each with its
// own schedule (a superposition of Poisson processes is Poisson at the summed rate). A
// connection that falls behind sends at once, and the delay counts in its latency.
asio::awaitable<void> open_loop_connection(StepContext& ctx, std::size_t id) {
  Rng rng(ctx.target.seed ^ (ctx.plan.seed_salt * 0x9E3779B97F4A7C15ULL) ^ (id * 0xBF58476D1CE4E5B9ULL));
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  beast::flat_buffer buffer = response_buffer();
  bool connected = false;
  auto req = base_request(ctx);
  const double per_connection_rate = ctx.plan.rate / static_cast<double>(ctx.plan.connections);
  std::exponential_distribution<double> gap(per_connection_rate);
  auto next_gap = [&] {
    const double s = ctx.plan.arrival == Arrival::poisson ? gap(rng) : 1.0 / per_connection_rate;
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  // Uniform arrivals get a random phase so the connections do not fire in lockstep.
  const double phase = std::uniform_real_distribution<double>(0.0, 1.0 / per_connection_rate)(rng);
  Clock::time_point intended = ctx.plan.arrival == Arrival::poisson
                                   ? ctx.origin + next_gap()
                                   : ctx.origin + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double>(phase));
  // A send due before the end still goes out a little late (a busy thread, the previous
  // answer arriving just after the end); one more than a grace period late means the server
  // has built a backlog, which is counted rather than sent.
  const auto grace = std::min<Clock::duration>(ctx.target.timeout, std::chrono::seconds(1));
  while (intended < ctx.end) {
    const auto now = Clock::now();
    if (now >= ctx.end + grace) {
      const double behind = std::chrono::duration<double>(ctx.end - intended).count();
      if (intended >= ctx.measure_start) {
        ctx.shards[t_shard].unsent += 1 + static_cast<std::uint64_t>(behind * per_connection_rate);
      }
      break;
    }
    if (!take_request_slot(ctx)) break;
    if (now < intended) {
      timer.expires_at(intended);
      co_await timer.async_wait(kNoThrow);
    }
    std::size_t scenario = 0;
    if (ctx.target.mix) {
      auto q = ctx.target.mix->next(rng);
      scenario = q.scenario;
      set_body(ctx, req, std::move(q.body));
    }
    const auto sent = Clock::now();
    Exchange ex = co_await exchange(ctx, stream, connected, buffer, req, sent + ctx.target.timeout);
    record(ctx, scenario, intended, Clock::now(), ex);
    co_await pause_after_error(ex);
    intended += next_gap();
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

StepOutcome run_step(const LoadTarget& target, const StepPlan& plan, LiveCounters* live) {
  const int threads = std::max(1, target.threads);
  asio::io_context io(threads);
  auto ctx = std::make_unique<StepContext>();
  ctx->target = target;
  ctx->plan = plan;
  ctx->live = live;
  ctx->verb = http::string_to_verb(target.method);
  if (ctx->verb == http::verb::unknown) throw std::runtime_error("unknown HTTP method '" + target.method + "'");
  if (ctx->verb != http::verb::post) ctx->target.mix.reset();
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  ctx->endpoints = resolver.resolve(target.url.host, std::to_string(target.url.port), ec);
  if (ec) throw std::runtime_error("cannot resolve " + target.url.host + ": " + ec.message());
  const std::size_t scenarios = ctx->target.mix ? ctx->target.mix->set().scenarios.size() : 0;
  ctx->shards.assign(static_cast<std::size_t>(threads), RunShard(scenarios));

  const double cpu_before = self_cpu_seconds();
  const std::uint64_t done_before = live->ok.load() + live->errors.load();
  ctx->origin = Clock::now();
  ctx->measure_start = ctx->origin + plan.warmup;
  ctx->end = ctx->measure_start + plan.measure;
  ctx->first_end = ctx->measure_start + plan.measure / 10;
  ctx->last_start = ctx->end - plan.measure / 10;
  for (int i = 0; i < plan.connections; ++i) {
    const auto id = static_cast<std::size_t>(i);
    if (plan.open_loop) {
      asio::co_spawn(io, open_loop_connection(*ctx, id), asio::detached);
    } else {
      asio::co_spawn(io, closed_loop_connection(*ctx, id), asio::detached);
    }
  }
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&io, t] {
      t_shard = static_cast<std::size_t>(t);
      io.run();
    });
  }
  t_shard = 0;
  io.run();
  for (auto& th : pool) th.join();
  const auto finished = Clock::now();

  StepOutcome out;
  out.shard = RunShard(scenarios);
  for (const auto& s : ctx->shards) out.shard.merge(s);
  // A run cut short by --max-requests measured less than the planned window.
  out.measured_seconds = std::max(0.0, std::min(std::chrono::duration<double>(plan.measure).count(),
                                                std::chrono::duration<double>(finished - ctx->measure_start).count()));
  out.wall_seconds = std::chrono::duration<double>(finished - ctx->origin).count();
  out.client_cpu_seconds = self_cpu_seconds() - cpu_before;
  out.completed = live->ok.load() + live->errors.load() - done_before;
  return out;
}

}  // namespace ragd::bench
