#include "ragd/retrieval/remote_embedder.hpp"
#include "ragd/core/await.hpp"

#include "ragd/core/base64.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/core/json_reader.hpp"
#include "ragd/retrieval/embedding_cache.hpp"
#include "ragd/net/http_client.hpp"
#include "ragd/net/retry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <optional>
#include <span>

namespace ragd::retrieval {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr const char* kService = "embedding service";

void normalize_rows(std::vector<float>& v, std::size_t dim) {
  for (std::size_t row = 0; row * dim < v.size(); ++row) {
    float* x = v.data() + row * dim;
    double norm = 0.0;
    for (std::size_t i = 0; i < dim; ++i) norm += static_cast<double>(x[i]) * x[i];
    if (norm <= 0.0) continue;
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (std::size_t i = 0; i < dim; ++i) x[i] *= scale;
  }
}

}  // namespace

std::string embeddings_url(std::string_view base_url) {
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0) return base + "/embeddings";
  return base + "/v1/embeddings";
}

std::string build_embeddings_request(const std::string& model, const std::vector<std::string>& texts, bool base64) {
  json body = {{"model", model}, {"input", texts}};
  if (base64) body["encoding_format"] = "base64";
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<float>> parse_embeddings_response(std::string_view body, std::size_t count, int dim) {
  auto bad = [](const std::string& what) {
    return make_error(Errc::upstream_error, std::string(kService) + " " + what);
  };
  auto parsed = parse_json(body);
  if (!parsed || !parsed->is_object()) {
    return make_error(Errc::upstream_error, std::string(kService) + " returned a body that is not JSON",
                      net::upstream_message(body, 120));
  }
  const JsonValue* data = parsed->find("data");
  if (data == nullptr || !data->is_array()) return bad("response has no data array");
  const auto& items = data->as_array();
  if (items.size() != count) {
    return bad("returned " + std::to_string(items.size()) + " vectors for " + std::to_string(count) + " texts");
  }
  const auto d = static_cast<std::size_t>(dim);
  std::vector<float> out(count * d);
  std::vector<bool> seen(count, false);
  auto wrong_dim = [&](std::size_t got) {
    return bad("returned vectors of dim " + std::to_string(got) + ", expected " + std::to_string(dim) +
               " (retrieval.embedder.dim)");
  };
  for (std::size_t pos = 0; pos < items.size(); ++pos) {
    const JsonValue& item = items[pos];
    const std::string where = "response data[" + std::to_string(pos) + "]";
    if (!item.is_object()) return bad(where + " is not an object");
    std::size_t index = pos;
    if (const JsonValue* i = item.find("index")) {
      if (!i->is_integer() || i->as_integer() < 0 || static_cast<std::uint64_t>(i->as_integer()) >= count) {
        return bad(where + ".index is out of range");
      }
      index = static_cast<std::size_t>(i->as_integer());
    }
    if (seen[index]) return bad("response repeats index " + std::to_string(index));
    seen[index] = true;
    const JsonValue* e = item.find("embedding");
    const std::span<float> row(out.data() + index * d, d);
    if (e != nullptr && e->is_string()) {
      const auto& text = e->as_string();
      const auto bytes = base64_decoded_size(text);
      if (bytes && *bytes != d * sizeof(float)) {
        if (*bytes % sizeof(float) == 0) return wrong_dim(*bytes / sizeof(float));
        return bad(where + ".embedding is not a whole number of float32 values");
      }
      if (!base64_decode_floats(text, row)) return bad(where + ".embedding is not valid base64");
      continue;
    }
    if (e == nullptr || !e->is_array()) return bad(where + " has no embedding array");
    const auto& values = e->as_array();
    if (values.size() != d) return wrong_dim(values.size());
    for (std::size_t k = 0; k < d; ++k) {
      if (!values[k].is_number()) return bad(where + ".embedding holds a non-number");
      row[k] = static_cast<float>(values[k].as_double());
    }
  }
  normalize_rows(out, d);
  return out;
}

struct RemoteEmbedder::Impl : std::enable_shared_from_this<RemoteEmbedder::Impl> {
  // One caller's texts, filled in on the strand and handed to the caller, on its own
  // executor, once complete (or failed).
  struct Waiter : Handoff<Result<std::vector<float>>> {
    Waiter(asio::any_io_executor ex, std::size_t n, std::size_t dim) : Handoff(std::move(ex)), out(n * dim), remaining(n) {}
    std::vector<float> out;
    std::size_t remaining;
    bool finished = false;             // on the strand
    std::atomic<bool> abandoned{false};  // the caller left (cancelled): skip its queued texts
  };
  struct Item {
    std::shared_ptr<Waiter> waiter;
    std::size_t slot;
    std::string text;
  };

  Impl(asio::any_io_executor ex, EmbedderConfig c, std::string key, RemoteEmbedderOptions o)
      : strand(asio::make_strand(ex)), cfg(std::move(c)), url(embeddings_url(cfg.base_url)),
        api_key(std::move(key)), options(o), http(ex) {}

  net::RetryPolicy policy() const {
    net::RetryPolicy p;
    p.service = kService;
    p.max_attempts = cfg.max_attempts;
    p.attempt_timeout = milliseconds(cfg.timeout_ms);
    p.backoff_base = options.backoff_base;
    p.backoff_cap = options.backoff_cap;
    return p;
  }

  // One attempt for `texts` on `client` (retried within the budget), in base64 or floats.
  asio::awaitable<Result<net::HttpResponse>> send_request(net::HttpClient& client, const std::vector<std::string>& texts,
                                                          bool base64) {
    net::HttpRequest req;
    req.url = url;
    req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + api_key);
    req.body = build_embeddings_request(cfg.model, texts, base64);
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(cfg.timeout_ms) * cfg.max_attempts;
    co_return co_await net::send_with_retries(client, std::move(req), policy(), deadline);
  }

  // One request for `texts`, in base64 unless the service has refused it before.
  asio::awaitable<Result<std::vector<float>>> request_batch(net::HttpClient& client, std::vector<std::string> texts) {
    const bool base64 = !base64_refused.load(std::memory_order_relaxed);
    auto res = co_await send_request(client, texts, base64);
    if (!res) co_return res.error();
    // A service that validates encoding_format and knows only "float" (400, 422): ask for
    // floats, and remember only when that works (a 400 for the texts themselves stays).
    if (base64 && (res->status == 400 || res->status == 422)) {
      auto plain = co_await send_request(client, texts, false);
      if (!plain) co_return plain.error();
      if (plain->status >= 200 && plain->status <= 299 && !base64_refused.exchange(true)) {
        spdlog::warn("embedding service {} refused encoding_format \"base64\" (status {}): asking for floats from now on",
                     url, res->status);
      }
      res = std::move(plain);
    }
    if (res->status < 200 || res->status > 299) co_return net::http_status_error(kService, res->status, res->body);
    co_return parse_embeddings_response(res->body, texts.size(), cfg.dim);
  }

  // The rest run on the strand.
  void complete(Waiter& w, std::optional<Error> error) {
    if (w.finished) return;
    w.finished = true;
    if (error) {
      w.set(std::move(*error));
    } else {
      w.set(std::move(w.out));
    }
  }

  void enqueue(std::vector<std::string> texts, std::shared_ptr<Waiter> w, bool urgent) {
    if (closing) {
      complete(*w, make_error(Errc::cancelled, "the embedder is shut down"));
      return;
    }
    auto& queue = urgent ? urgent_items : bulk_items;
    for (std::size_t i = 0; i < texts.size(); ++i) queue.push_back(Item{w, i, std::move(texts[i])});
    pump();
  }

  bool skip(const Item& item) const { return item.waiter->finished || item.waiter->abandoned.load(); }

  void pump() {
    while (!closing && inflight < cfg.max_inflight) {
      std::vector<Item> items;
      const auto limit = static_cast<std::size_t>(cfg.batch);
      for (auto* queue : {&urgent_items, &bulk_items}) {
        while (items.size() < limit && !queue->empty()) {
          if (!skip(queue->front())) items.push_back(std::move(queue->front()));
          queue->pop_front();
        }
      }
      if (items.empty()) return;
      ++inflight;
      auto on_done = [self = shared_from_this()](std::exception_ptr) {
        --self->inflight;
        self->pump();
      };
      asio::co_spawn(strand, send_batch(shared_from_this(), std::move(items)), std::move(on_done));
    }
  }

  static asio::awaitable<void> send_batch(std::shared_ptr<Impl> self, std::vector<Item> items) {
    std::vector<std::string> texts;
    texts.reserve(items.size());
    for (const auto& item : items) texts.push_back(item.text);
    auto vectors = co_await self->request_batch(self->http, std::move(texts));
    const auto dim = static_cast<std::size_t>(self->cfg.dim);
    for (std::size_t i = 0; i < items.size(); ++i) {
      Waiter& w = *items[i].waiter;
      if (w.finished) continue;
      if (!vectors) {
        self->complete(w, vectors.error());
        continue;
      }
      std::copy_n(vectors->data() + i * dim, dim, w.out.data() + items[i].slot * dim);
      if (--w.remaining == 0) self->complete(w, std::nullopt);
    }
  }

  void shut_down() {
    closing = true;
    for (auto* queue : {&urgent_items, &bulk_items}) {
      for (auto& item : *queue) complete(*item.waiter, make_error(Errc::cancelled, "the embedder is shut down"));
      queue->clear();
    }
  }

  asio::awaitable<Result<std::vector<float>>> embed(std::vector<std::string> texts, bool urgent) {
    if (texts.empty()) co_return std::vector<float>{};
    auto w = std::make_shared<Waiter>(co_await asio::this_coro::executor, texts.size(),
                                      static_cast<std::size_t>(cfg.dim));
    asio::post(strand, [self = shared_from_this(), w, texts = std::move(texts), urgent]() mutable {
      self->enqueue(std::move(texts), std::move(w), urgent);
    });
    if (co_await Waiter::wait(w) != Waited::done) {
      w->abandoned.store(true);
      co_return make_error(Errc::cancelled, "embedding cancelled");
    }
    co_return std::move(w->value());
  }

  asio::strand<asio::any_io_executor> strand;
  const EmbedderConfig cfg;
  const std::string url;
  const std::string api_key;
  const RemoteEmbedderOptions options;
  net::HttpClient http;
  std::deque<Item> urgent_items;
  std::deque<Item> bulk_items;
  int inflight = 0;
  bool closing = false;
  // Set once the service has refused base64 and answered floats; read by every request,
  // the strand's and embed_documents_sync()'s.
  std::atomic<bool> base64_refused{false};
};

RemoteEmbedder::RemoteEmbedder(asio::any_io_executor ex, EmbedderConfig cfg, std::string api_key,
                               RemoteEmbedderOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(cfg), std::move(api_key), options)) {}

RemoteEmbedder::~RemoteEmbedder() {
  // Batches in flight keep the state alive until their requests end.
  asio::post(impl_->strand, [impl = impl_] { impl->shut_down(); });
}

int RemoteEmbedder::dim() const { return impl_->cfg.dim; }

std::string RemoteEmbedder::model() const { return impl_->cfg.model; }

std::uint32_t RemoteEmbedder::snapshot_version() const {
  const auto digest = sha256(name() + "/" + model());
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | digest[static_cast<std::size_t>(i)];
  return v | 0x80000000u;
}

asio::awaitable<Result<std::vector<float>>> RemoteEmbedder::embed_query(std::string text) {
  std::vector<std::string> texts;
  texts.push_back(std::move(text));
  co_return co_await impl_->embed(std::move(texts), /*urgent=*/true);
}

asio::awaitable<Result<std::vector<float>>> RemoteEmbedder::embed_documents(std::vector<std::string> texts) {
  co_return co_await impl_->embed(std::move(texts), /*urgent=*/false);
}

Result<std::vector<float>> RemoteEmbedder::embed_documents_sync(std::vector<std::string> texts) {
  // A private event loop on this thread: usable before the server's loop runs (snapshot
  // load at start-up) and from tools that have none.
  asio::io_context io;
  std::optional<Result<std::vector<float>>> result;
  {
    net::HttpClient client(io.get_executor());
    auto work = [impl = impl_, &client, texts = std::move(texts)]() -> asio::awaitable<Result<std::vector<float>>> {
      const auto dim = static_cast<std::size_t>(impl->cfg.dim);
      const auto batch = static_cast<std::size_t>(impl->cfg.batch);
      std::vector<float> out(texts.size() * dim);
      for (std::size_t first = 0; first < texts.size(); first += batch) {
        const std::size_t last = std::min(texts.size(), first + batch);
        std::vector<std::string> part(texts.begin() + static_cast<std::ptrdiff_t>(first),
                                      texts.begin() + static_cast<std::ptrdiff_t>(last));
        auto vectors = co_await impl->request_batch(client, std::move(part));
        if (!vectors) co_return vectors.error();
        std::copy(vectors->begin(), vectors->end(), out.begin() + static_cast<std::ptrdiff_t>(first * dim));
      }
      co_return out;
    };
    auto on_done = [&result](std::exception_ptr e, Result<std::vector<float>> r) {
      if (e) {
        result = make_error(Errc::internal, "embedding failed with an exception");
      } else {
        result = std::move(r);
      }
    };
    asio::co_spawn(io, work(), std::move(on_done));
    while (!result && io.run_one() > 0) {
    }
  }
  // Lets the client's shutdown close its connections before the loop goes away.
  io.restart();
  io.poll();
  if (!result) return make_error(Errc::internal, "embedding stopped without a result");
  return std::move(*result);
}

std::shared_ptr<Embedder> make_embedder(asio::any_io_executor ex, const RetrievalConfig& cfg, redis::Client* redis,
                                        metrics::Registry& registry, const std::string& key_prefix) {
  const EmbedderConfig& e = cfg.embedder;
  if (e.base_url.empty()) return nullptr;
  std::string api_key;
  if (!e.api_key_env.empty()) {
    if (const char* v = std::getenv(e.api_key_env.c_str())) api_key = v;
  }
  std::shared_ptr<Embedder> embedder = std::make_shared<RemoteEmbedder>(std::move(ex), e, std::move(api_key));
  if (!e.cache.enabled) return embedder;
  return std::make_shared<CachedEmbedder>(std::move(embedder), e.cache, redis, registry, key_prefix);
}

}  // namespace ragd::retrieval
