#include "fake_llm_server.hpp"

#include "ragd/core/base64.hpp"
#include "ragd/core/json_reader.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/core/json_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cerrno>
#include <ctime>

#include <sys/socket.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ragd::fake_llm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit = 16 * 1024 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(120);

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Calls f on each text of a message's content: a string, null, or (multimodal form) an
// array of {type, text} parts. Chat requests are read with ragd's JsonValue: they carry
// whole prompts, and nlohmann's lexer was a third of this server's CPU under load.
template <class F>
void for_each_text(const JsonValue& content, F&& f) {
  if (content.is_string()) {
    f(content.as_string());
  } else if (content.is_array()) {
    for (const auto& part : content.as_array()) {
      const JsonValue* text = part.find("text");
      if (text != nullptr && text->is_string()) f(text->as_string());
    }
  }
}

int content_words(const JsonValue& content) {
  int n = 0;
  for_each_text(content, [&n](const std::string& text) { n += count_words(text); });
  return n;
}

std::string content_text(const JsonValue& content) {
  std::string out;
  for_each_text(content, [&out](const std::string& text) { out += text; });
  return out;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// OpenAI's error shape, so SDKs show the message.
std::string openai_error(std::string_view message, std::string_view type, std::string_view code = {}) {
  json err = {{"message", message}, {"type", type}, {"param", nullptr}};
  err["code"] = code.empty() ? json(nullptr) : json(code);
  return dump(json{{"error", err}});
}

std::mt19937_64& thread_rng(std::uint64_t seed, std::atomic<std::uint64_t>& seq) {
  // One generator per I/O thread, seeded from --seed and the thread's start order.
  thread_local std::mt19937_64 rng{splitmix64(seed + 0x51ed270b27f1ull * seq.fetch_add(1))};
  return rng;
}

bool draw(std::mt19937_64& rng, double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p;
}

}  // namespace

int count_words(std::string_view s) {
  const auto is_space = [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  int n = 0;
  bool after_space = true;  // the byte before the next one is a space (or there is none)
  std::size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time (prompts are kilobytes, and this was half of this server's
  // instructions a call): a word starts at each non-space byte whose predecessor, loaded one
  // byte earlier, is a space. Each lane counts the starts it saw (up to 255 blocks) before
  // the lanes are summed. Bytes >= 0x80 are negative as signed chars, so the range test
  // leaves them out. (Byte shifts of a register would do with one load, but GCC 12 rejects
  // their immediate in unoptimized builds.)
  const __m128i blank = _mm_set1_epi8(' ');
  const __m128i below_tab = _mm_set1_epi8('\t' - 1);
  const __m128i above_cr = _mm_set1_epi8('\r' + 1);
  const __m128i zero = _mm_setzero_si128();
  const auto spaces = [&](const char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm_or_si128(_mm_cmpeq_epi8(v, blank), _mm_and_si128(_mm_cmpgt_epi8(v, below_tab), _mm_cmplt_epi8(v, above_cr)));
  };
  if (s.size() > 16) {
    // The first byte has no predecessor to load.
    after_space = is_space(static_cast<unsigned char>(s[0]));
    n += after_space ? 0 : 1;
    i = 1;
    while (s.size() - i >= 16) {
      __m128i counts = zero;
      for (int blocks = 0; blocks < 255 && s.size() - i >= 16; ++blocks, i += 16) {
        counts = _mm_sub_epi8(counts, _mm_andnot_si128(spaces(s.data() + i), spaces(s.data() + i - 1)));
      }
      const __m128i sums = _mm_sad_epu8(counts, zero);
      n += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_unpackhi_epi64(sums, sums));
    }
    after_space = is_space(static_cast<unsigned char>(s[i - 1]));
  }
#endif
  for (; i < s.size(); ++i) {
    const bool space = is_space(static_cast<unsigned char>(s[i]));
    if (!space && after_space) ++n;
    after_space = space;
  }
  return n;
}

bool parse_latency_dist(std::string_view s, LatencyDist& out) {
  if (s == "fixed") out = LatencyDist::fixed;
  else if (s == "normal") out = LatencyDist::normal;
  else if (s == "longtail") out = LatencyDist::longtail;
  else return false;
  return true;
}

bool parse_base64_support(std::string_view s, Base64Support& out) {
  if (s == "yes") out = Base64Support::yes;
  else if (s == "reject") out = Base64Support::reject;
  else if (s == "ignore") out = Base64Support::ignore;
  else return false;
  return true;
}

double sample_latency_ms(const FakeLlmOptions& o, std::mt19937_64& rng) { return sample_latency_ms(o, rng, o.latency_ms); }

double sample_latency_ms(const FakeLlmOptions& o, std::mt19937_64& rng, double base_ms) {
  double ms = base_ms;
  switch (o.latency_dist) {
    case LatencyDist::fixed:
      break;
    case LatencyDist::normal:
      if (o.latency_jitter_ms > 0) ms = std::normal_distribution<double>(base_ms, o.latency_jitter_ms)(rng);
      break;
    case LatencyDist::longtail:
      if (o.latency_jitter_ms > 0) {
        ms += std::exponential_distribution<double>(1.0 / o.latency_jitter_ms)(rng);
      }
      if (draw(rng, 0.01)) ms *= 10;
      break;
  }
  return std::max(0.0, ms);
}

std::string fake_answer(const JsonValue::Array& messages, int words) {
  std::string last_user;
  for (const auto& m : messages) {
    const JsonValue* role = m.find("role");
    const JsonValue* content = m.find("content");
    if (role != nullptr && role->is_string() && role->as_string() == "user" && content != nullptr) {
      last_user = content_text(*content);
    }
  }
  if (last_user.size() > 200) last_user.resize(200);
  std::string answer = "fake answer to: " + last_user;
  if (words <= 0) return answer;
  static constexpr std::array<std::string_view, 8> kFiller = {"lorem", "ipsum", "dolor", "sit",
                                                              "amet", "consectetur", "adipiscing", "elit"};
  std::string out;
  int n = 0;
  for (std::size_t i = 0; i < answer.size() && n < words;) {
    while (i < answer.size() && std::isspace(static_cast<unsigned char>(answer[i]))) ++i;
    const std::size_t begin = i;
    while (i < answer.size() && !std::isspace(static_cast<unsigned char>(answer[i]))) ++i;
    if (i == begin) break;
    if (!out.empty()) out += ' ';
    out.append(answer, begin, i - begin);
    ++n;
  }
  for (std::size_t filler = 0; n < words; ++n, ++filler) {
    if (!out.empty()) out += ' ';
    out += kFiller[filler % kFiller.size()];
  }
  return out;
}

std::vector<float> fake_embedding(std::string_view input, int dim) {
  std::vector<float> v(static_cast<std::size_t>(std::max(dim, 1)));
  const std::uint64_t seed = fnv1a(input);
  double norm = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::uint64_t bits = splitmix64(seed + i);
    const double x = static_cast<double>(bits >> 11) * 0x1.0p-53 * 2.0 - 1.0;  // [-1, 1)
    v[i] = static_cast<float>(x);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (auto& x : v) x = static_cast<float>(x / norm);
  }
  return v;
}

// One keep-alive connection: read a request, answer it (possibly after an injected
// delay, or never), repeat.
class FakeLlmServer::Session {
 public:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;

  Session(FakeLlmServer& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)), timer_(stream_.get_executor()) {}

  static asio::awaitable<void> run(FakeLlmServer& server, tcp::socket socket) {
    Session s(server, std::move(socket));
    co_await s.loop();
  }

 private:
  const FakeLlmOptions& opts() const { return server_.options_; }
  Counters& counters() { return server_.counters_; }
  std::mt19937_64& rng() { return thread_rng(opts().seed, server_.thread_seq_); }

  asio::awaitable<void> loop() {
    // Beast reads max(512, free capacity) at a time: room for a whole prompt makes a request
    // one recvmsg instead of a dozen.
    beast::flat_buffer buffer;
    buffer.reserve(64 * 1024);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      stream_.expires_after(kIdleTimeout);
      if (!co_await read_request(buffer, parser)) break;
      stream_.expires_never();
      Request req = parser.release();
      counters().requests_total.fetch_add(1, std::memory_order_relaxed);
      const bool keep_alive = req.keep_alive();
      if (!co_await handle(req) || !keep_alive) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Parses what the buffer holds and reads more only while the parser needs it (Beast's
  // async_read costs a trip through the scheduler even when the request is all there).
  asio::awaitable<bool> read_request(beast::flat_buffer& buffer, http::request_parser<http::string_body>& parser) {
    parser.eager(true);
    for (;;) {
      while (buffer.size() > 0 && !parser.is_done()) {
        beast::error_code ec;
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) break;
        if (ec) co_return false;
        if (used == 0) break;
      }
      if (parser.is_done()) co_return true;
      auto [ec, n] = co_await stream_.async_read_some(buffer.prepare(64 * 1024), kNoThrow);
      if (ec) {
        // The peer closed between requests, or mid-request: either way this connection ends.
        co_return false;
      }
      buffer.commit(n);
    }
  }

  Response make_response(const Request& req, http::status status, std::string body,
                         std::string_view content_type = "application/json") {
    Response res{status, req.version()};
    res.set(http::field::server, "fake-llm");
    res.set(http::field::content_type, content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  // The head is formatted by hand and goes out with the body in one gather write: Beast's
  // serializer cost more than the rest of a call.
  asio::awaitable<bool> send(Response res) {
    std::string head;
    head.reserve(160);
    head += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head += std::to_string(res.result_int());
    head += ' ';
    head += res.reason();
    head += "\r\n";
    for (const auto& f : res) {
      head += f.name_string();
      head += ": ";
      head += f.value();
      head += "\r\n";
    }
    head += "\r\n";
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(res.body())};
    auto [ec, n] = co_await asio::async_write(stream_, buffers, kNoThrow);
    co_return !ec;
  }

  asio::awaitable<void> sleep_ms(double ms) {
    if (ms <= 0) co_return;
    timer_.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000)));
    co_await timer_.async_wait(kNoThrow);
  }

  // Returns whether the connection may serve another request.
  asio::awaitable<bool> handle(Request& req) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const auto method = req.method();

    if (path == "/healthz") co_return co_await send(make_response(req, http::status::ok, R"({"status":"ok"})"));
    if (path == "/stats" && method == http::verb::get) {
      co_return co_await send(make_response(req, http::status::ok, dump(server_.stats())));
    }
    if (path == "/reset" && method == http::verb::post) {
      server_.reset();
      co_return co_await send(make_response(req, http::status::ok, R"({"status":"reset"})"));
    }
    if (path == "/v1/models" && method == http::verb::get) {
      json body = {{"object", "list"},
                   {"data", json::array({{{"id", opts().model}, {"object", "model"}, {"owned_by", "fake-llm"}}})}};
      co_return co_await send(make_response(req, http::status::ok, dump(body)));
    }
    const bool chat = path == "/v1/chat/completions";
    const bool embeddings = path == "/v1/embeddings";
    if (!chat && !embeddings && path != "/stats" && path != "/reset" && path != "/v1/models") {
      co_return co_await send(make_response(req, http::status::not_found,
                                            openai_error("no route " + std::string(path), "invalid_request_error", "not_found")));
    }
    if (method != http::verb::post || (!chat && !embeddings)) {
      co_return co_await send(make_response(req, http::status::method_not_allowed,
                                            openai_error("method not allowed", "invalid_request_error", "method_not_allowed")));
    }

    (chat ? counters().chat_calls : counters().embedding_calls).fetch_add(1, std::memory_order_relaxed);
    JsonValue chat_body;
    json embeddings_body;
    bool is_object = false;
    if (chat) {
      auto parsed = parse_json(req.body());
      is_object = parsed && parsed->is_object();
      if (is_object) chat_body = std::move(*parsed);
    } else {
      embeddings_body = json::parse(req.body(), nullptr, false);
      is_object = !embeddings_body.is_discarded() && embeddings_body.is_object();
    }
    if (!is_object) {
      counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
      co_return co_await send(make_response(req, http::status::bad_request,
                                            openai_error("request body is not a JSON object", "invalid_request_error")));
    }

    if (auto injected = co_await inject_fault(req)) co_return *injected > 0;
    const double base_ms = embeddings && opts().embedding_latency_ms >= 0 ? opts().embedding_latency_ms : opts().latency_ms;
    co_await sleep_ms(sample_latency_ms(opts(), rng(), base_ms));
    // GCC 12 miscompiles co_await inside ?:, hence the plain if.
    if (chat) co_return co_await answer_chat(req, chat_body);
    co_return co_await answer_embeddings(req, embeddings_body);
  }

  // Returns nullopt to go on normally; otherwise a response was sent (1 = keep the
  // connection, 0 = close it).
  asio::awaitable<std::optional<int>> inject_fault(const Request& req) {
    int status = 0;
    std::int64_t left = server_.fail_remaining_.load(std::memory_order_relaxed);
    while (left > 0 && !server_.fail_remaining_.compare_exchange_weak(left, left - 1)) {
    }
    if (left > 0) {
      status = opts().fail_first_status;
    } else if (draw(rng(), opts().hang_rate)) {
      counters().errors_injected.fetch_add(1, std::memory_order_relaxed);
      counters().hangs_injected.fetch_add(1, std::memory_order_relaxed);
      co_await hang();
      co_return 0;
    } else if (draw(rng(), opts().status_429_rate)) {
      status = 429;
    } else if (draw(rng(), opts().error_rate)) {
      status = 500;
    }
    if (status == 0) co_return std::nullopt;

    counters().errors_injected.fetch_add(1, std::memory_order_relaxed);
    co_await sleep_ms(sample_latency_ms(opts(), rng()));
    Response res;
    if (status == 429) {
      counters().status_429_injected.fetch_add(1, std::memory_order_relaxed);
      res = make_response(req, http::status::too_many_requests,
                          openai_error("rate limit reached (injected)", "rate_limit_error", "rate_limit_exceeded"));
      res.set(http::field::retry_after, "1");
    } else {
      counters().status_500_injected.fetch_add(1, std::memory_order_relaxed);
      res = make_response(req, static_cast<http::status>(status),
                          openai_error("internal server error (injected)", "server_error"));
    }
    const bool sent = co_await send(std::move(res));
    co_return sent ? 1 : 0;
  }

  // Holds the connection open without answering until the client closes it (or sends
  // more bytes, which an HTTP/1.1 client waiting for an answer will not).
  asio::awaitable<void> hang() {
    char scratch[512];
    stream_.expires_never();
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(scratch), kNoThrow);
      if (ec) co_return;
    }
  }

  json usage(int prompt_tokens, int completion_tokens) {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}};
  }

  asio::awaitable<bool> answer_chat(const Request& req, const JsonValue& body) {
    const JsonValue* messages = body.find("messages");
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
      counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
      co_return co_await send(make_response(req, http::status::bad_request,
                                            openai_error("'messages' must be a non-empty array", "invalid_request_error")));
    }
    int prompt_tokens = 0;
    for (const auto& m : messages->as_array()) {
      const JsonValue* role = m.find("role");
      if (!m.is_object() || role == nullptr || !role->is_string()) {
        counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
        co_return co_await send(make_response(req, http::status::bad_request,
                                              openai_error("each message needs a string 'role'", "invalid_request_error")));
      }
      if (const JsonValue* content = m.find("content")) prompt_tokens += content_words(*content);
    }
    std::string model = opts().model;
    if (const JsonValue* m = body.find("model"); m != nullptr && m->is_string()) model = m->as_string();
    const std::string answer = fake_answer(messages->as_array(), opts().answer_words);
    const int completion_tokens = count_words(answer);
    const std::string id = "chatcmpl-fake-" + std::to_string(server_.completion_seq_.fetch_add(1));
    const auto created = static_cast<std::int64_t>(std::time(nullptr));

    bool stream = false;
    if (const JsonValue* s = body.find("stream"); s != nullptr && s->is_bool()) stream = s->as_bool();
    if (stream) {
      counters().stream_calls.fetch_add(1, std::memory_order_relaxed);
      bool include_usage = false;
      if (const JsonValue* so = body.find("stream_options"); so != nullptr && so->is_object()) {
        const JsonValue* iu = so->find("include_usage");
        include_usage = iu != nullptr && iu->is_bool() && iu->as_bool();
      }
      // A local, not a ?: in the call: GCC 12 destroyed that temporary twice across the co_await.
      json usage_block;
      if (include_usage) usage_block = usage(prompt_tokens, completion_tokens);
      co_return co_await stream_chat(req, id, created, model, answer, std::move(usage_block));
    }
    // Written directly: an nlohmann tree and its dump were a tenth of this server's CPU.
    std::string out;
    out.reserve(320 + id.size() + model.size() + answer.size() + answer.size() / 8);
    JsonWriter w(out);
    w.begin_object()
        .member("id", id)
        .member("object", "chat.completion")
        .member("created", created)
        .member("model", model);
    w.key("choices").begin_array().begin_object().member("index", 0);
    w.key("message").begin_object().member("role", "assistant").member("content", answer).end_object();
    w.member("finish_reason", "stop").end_object().end_array();
    w.key("usage")
        .begin_object()
        .member("prompt_tokens", prompt_tokens)
        .member("completion_tokens", completion_tokens)
        .member("total_tokens", prompt_tokens + completion_tokens)
        .end_object()
        .end_object();
    co_return co_await send(make_response(req, http::status::ok, std::move(out)));
  }

  static json chunk_json(const std::string& id, std::int64_t created, const std::string& model,
                         const json& delta, const json& finish_reason) {
    json choice = {{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}};
    return {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", created},
            {"model", model},
            {"choices", json::array({std::move(choice)})}};
  }

  asio::awaitable<bool> write_event(const json& data) {
    std::string event = "data: " + dump(data) + "\n\n";
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk(asio::buffer(event)), kNoThrow);
    co_return !ec;
  }

  // Server-sent events in OpenAI's chunk format: a role delta, one delta per word, a
  // chunk with finish_reason, a usage chunk (when asked), then "data: [DONE]".
  asio::awaitable<bool> stream_chat(const Request& req, std::string id, std::int64_t created,
                                    std::string model, std::string answer, json usage_block) {
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "fake-llm");
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(req.keep_alive());
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    auto [ec, n] = co_await http::async_write_header(stream_, sr, kNoThrow);
    if (ec) co_return false;

    const bool finished = co_await stream_events(id, created, model, answer, std::move(usage_block));
    (finished ? counters().streams_completed : counters().streams_aborted).fetch_add(1, std::memory_order_relaxed);
    co_return finished;
  }

  // The events after the head; false when the client went away before the end.
  asio::awaitable<bool> stream_events(const std::string& id, std::int64_t created, const std::string& model,
                                      const std::string& answer, json usage_block) {
    const json role_delta = {{"role", "assistant"}, {"content", ""}};
    if (!co_await write_event(chunk_json(id, created, model, role_delta, nullptr))) co_return false;

    double pause_ms = opts().tokens_per_second > 0 ? 1000.0 / opts().tokens_per_second : 0;
    if (opts().inter_token_ms >= 0) pause_ms = opts().inter_token_ms;
    std::size_t pos = 0;
    bool first = true;
    while (pos < answer.size()) {
      std::size_t end = answer.find(' ', pos);
      end = end == std::string::npos ? answer.size() : end + 1;  // the space travels with its word
      if (!co_await pause_watching_peer(first ? opts().first_token_ms : pause_ms)) co_return false;
      first = false;
      const json delta = {{"content", answer.substr(pos, end - pos)}};
      if (!co_await write_event(chunk_json(id, created, model, delta, nullptr))) co_return false;
      pos = end;
    }
    if (!co_await write_event(chunk_json(id, created, model, json::object(), "stop"))) co_return false;
    if (!usage_block.is_null()) {
      // As OpenAI sends it: a chunk of its own, with no choices.
      json usage_chunk = chunk_json(id, created, model, json::object(), nullptr);
      usage_chunk["choices"] = json::array();
      usage_chunk["usage"] = std::move(usage_block);
      if (!co_await write_event(usage_chunk)) co_return false;
    }
    std::string done = "data: [DONE]\n\n";
    auto [ec2, n2] = co_await asio::async_write(stream_, http::make_chunk(asio::buffer(done)), kNoThrow);
    if (ec2) co_return false;
    auto [ec3, n3] = co_await asio::async_write(stream_, http::make_chunk_last(), kNoThrow);
    co_return !ec3;
  }

  // Sleeps `ms` while watching the socket: a client that hangs up mid-stream is seen at
  // once, not at the next write. False when it has. (A plain completion handler watches the
  // socket: GCC 12 miscompiled this coroutine's frame with the awaitable operators.)
  asio::awaitable<bool> pause_watching_peer(double ms) {
    if (ms <= 0) co_return true;
    struct Watch {
      explicit Watch(const asio::any_io_executor& ex) : timer(ex) {}
      asio::steady_timer timer;
      bool gone = false;
    };
    auto watch = std::make_shared<Watch>(stream_.get_executor());
    watch->timer.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000)));
    auto& socket = stream_.socket();
    socket.async_wait(tcp::socket::wait_read, [watch, fd = socket.native_handle()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      // Readable while waiting for an answer: the end of the connection (or an error),
      // unless the client sent bytes early, which are left for the next request.
      char byte = 0;
      const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (ec || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        watch->gone = true;
        watch->timer.cancel();
      }
    });
    co_await watch->timer.async_wait(kNoThrow);
    if (!watch->gone) {
      boost::system::error_code ignored;
      socket.cancel(ignored);  // the watch ends; its handler runs with operation_aborted
    }
    co_return !watch->gone;
  }

  asio::awaitable<bool> answer_embeddings(const Request& req, const json& body) {
    auto input = body.find("input");
    std::vector<std::string> inputs;
    if (input != body.end()) {
      if (input->is_string()) {
        inputs.push_back(input->get<std::string>());
      } else if (input->is_array() && !input->empty() && (*input)[0].is_number_integer()) {
        inputs.push_back(dump(*input));  // one pre-tokenized input
      } else if (input->is_array()) {
        for (const auto& item : *input) inputs.push_back(item.is_string() ? item.get<std::string>() : dump(item));
      }
    }
    if (inputs.empty()) {
      counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
      co_return co_await send(make_response(req, http::status::bad_request,
                                            openai_error("'input' must be a string or a non-empty array", "invalid_request_error")));
    }
    int dim = opts().dim;
    if (auto d = body.find("dimensions"); d != body.end()) {
      if (!d->is_number_integer() || d->get<int>() < 1 || d->get<int>() > 16384) {
        counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
        co_return co_await send(make_response(req, http::status::bad_request,
                                              openai_error("'dimensions' must be an integer in [1, 16384]", "invalid_request_error")));
      }
      dim = d->get<int>();
    }
    std::string model = opts().model;
    if (auto m = body.find("model"); m != body.end() && m->is_string()) model = m->get<std::string>();
    bool base64 = false;
    if (auto f = body.find("encoding_format"); f != body.end()) {
      if (!f->is_string() || (*f != "float" && *f != "base64")) {
        counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
        co_return co_await send(make_response(req, http::status::bad_request,
                                              openai_error("'encoding_format' must be 'float' or 'base64'", "invalid_request_error")));
      }
      if (*f == "base64") counters().embedding_base64_asked.fetch_add(1, std::memory_order_relaxed);
      base64 = *f == "base64" && opts().base64 != Base64Support::ignore;
      if (base64 && opts().base64 == Base64Support::reject) {
        counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
        co_return co_await send(make_response(req, http::status::bad_request,
                                              openai_error("'encoding_format' must be 'float'", "invalid_request_error")));
      }
    }
    if (base64) counters().embedding_base64_calls.fetch_add(1, std::memory_order_relaxed);

    counters().embedding_inputs.fetch_add(static_cast<std::int64_t>(inputs.size()), std::memory_order_relaxed);
    json data = json::array();
    int tokens = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      tokens += count_words(inputs[i]);
      const auto vector = fake_embedding(inputs[i], dim);
      json embedding = base64 ? json(base64_encode_floats(vector)) : json(vector);
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
    }
    json out = {{"object", "list"},
                {"data", std::move(data)},
                {"model", model},
                {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
    co_return co_await send(make_response(req, http::status::ok, dump(out)));
  }

  FakeLlmServer& server_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
};

FakeLlmServer::FakeLlmServer(asio::io_context& io, FakeLlmOptions options)
    : io_(io), options_(std::move(options)), acceptor_(io), fail_remaining_(options_.fail_first) {}

unsigned short FakeLlmServer::start() {
  tcp::endpoint ep(asio::ip::make_address(options_.host), options_.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return acceptor_.local_endpoint().port();
}

void FakeLlmServer::stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> FakeLlmServer::accept_loop() {
  for (;;) {
    // Each connection runs on its own strand: tcp_stream's timeout may fire on another
    // I/O thread while the session's read is pending.
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), kNoThrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;  // e.g. out of descriptors for a moment: keep serving the others
    counters_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(socket.get_executor(), Session::run(*this, std::move(socket)), asio::detached);
  }
}

json FakeLlmServer::stats() const {
  const auto& c = counters_;
  auto v = [](const std::atomic<std::int64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {{"chat_calls", v(c.chat_calls)},
          {"stream_calls", v(c.stream_calls)},
          {"streams_completed", v(c.streams_completed)},
          {"streams_aborted", v(c.streams_aborted)},
          {"embedding_calls", v(c.embedding_calls)},
          {"embedding_inputs", v(c.embedding_inputs)},
          {"embedding_base64_asked", v(c.embedding_base64_asked)},
          {"embedding_base64_calls", v(c.embedding_base64_calls)},
          {"errors_injected", v(c.errors_injected)},
          {"status_500_injected", v(c.status_500_injected)},
          {"status_429_injected", v(c.status_429_injected)},
          {"hangs_injected", v(c.hangs_injected)},
          {"bad_requests", v(c.bad_requests)},
          {"requests_total", v(c.requests_total)},
          {"connections_accepted", v(c.connections_accepted)},
          {"fail_first_remaining", std::max<std::int64_t>(0, fail_remaining_.load())}};
}

void FakeLlmServer::reset() {
  auto& c = counters_;
  for (auto* a : {&c.chat_calls, &c.stream_calls, &c.streams_completed, &c.streams_aborted, &c.embedding_calls, &c.embedding_inputs, &c.embedding_base64_asked, &c.embedding_base64_calls, &c.errors_injected,
                  &c.status_500_injected, &c.status_429_injected, &c.hangs_injected,
                  &c.bad_requests, &c.requests_total, &c.connections_accepted}) {
    a->store(0, std::memory_order_relaxed);
  }
  // A reset is a fresh start: --fail-first applies again.
  fail_remaining_.store(options_.fail_first);
}

}  // namespace ragd::fake_llm
