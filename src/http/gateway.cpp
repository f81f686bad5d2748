#include "ragd/http/gateway.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/http/answer_body.hpp"
#include "ragd/http/api.hpp"
#include "ragd/http/auth.hpp"
#include "ragd/http/server.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/wired_pipeline.hpp"
#include "ragd/profile/profile_store.hpp"
#include "ragd/queue/job_queue.hpp"
#include "ragd/queue/rate_limiter.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/replication/replicator.hpp"
#include "ragd/retrieval/remote_embedder.hpp"
#include "ragd/retrieval/retriever.hpp"
#include "ragd/rules/reloadable_rules.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <thread>

namespace ragd::http {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(10);

bool is_json_content_type(std::string_view ct) {
  auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json";
}

Response error_response(const Error& e) {
  Response r = Response::error(e);
  if (e.code == Errc::overloaded || e.code == Errc::unavailable || e.code == Errc::rate_limited) {
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

// The SHA-256 of the request's API key, naming its rate-limit bucket ("" without a key).
std::string api_key_sha256(const Request& req) {
  std::string_view key = req.header("x-api-key");
  constexpr std::string_view kBearer = "bearer ";
  auto auth = req.header("authorization");
  if (key.empty() && auth.size() > kBearer.size()) {
    std::string scheme(auth.substr(0, kBearer.size()));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme == kBearer) key = auth.substr(kBearer.size());
  }
  return key.empty() ? std::string() : sha256_hex(std::string(key));
}

}  // namespace

int io_threads(const GatewayConfig& config, unsigned hardware_threads) {
  if (config.server.threads > 0) return config.server.threads;
  const int cores = static_cast<int>(std::max(1u, hardware_threads));
  return std::max(1, cores - std::max(1, config.retrieval.search_threads));
}

struct Gateway::Impl {
  GatewayConfig config;
  asio::io_context io;
  metrics::Registry registry;
  std::unique_ptr<redis::Client> redis;
  std::unique_ptr<retrieval::Retriever> retriever;
  std::unique_ptr<replication::Replicator> replicator;  // null in standalone mode
  std::unique_ptr<profile::ProfileStore> profiles;
  std::unique_ptr<queue::JobClient> jobs;
  std::shared_ptr<rules::ReloadableRules> rules;  // null: no rules file
  std::unique_ptr<orchestrator::WiredPipeline> pipeline;
  std::unique_ptr<ApiKeyAuth> auth;
  std::unique_ptr<queue::RateLimiter> limiter;
  Router router;
  std::unique_ptr<Server> server;
  std::atomic<int> inflight_queries{0};
  std::atomic<bool> stopped{false};
  double started_ms = mono_ms();
  asio::thread_pool reloads{1};  // SIGHUP's rules reloads: file I/O off the I/O threads

  explicit Impl(GatewayConfig c) : config(std::move(c)), io(resolve_threads(config)) {
    if (config.server.gateway_id.empty()) config.server.gateway_id = random_id().substr(0, 12);
  }

  static int resolve_threads(const GatewayConfig& c) { return io_threads(c, std::thread::hardware_concurrency()); }

  // SIGHUP reloads the rules file; a file that does not load keeps the rules in force.
  void reload_on_hangup(asio::signal_set& hangups) {
    hangups.async_wait([this, &hangups](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (!rules) {
        spdlog::info("received SIGHUP; no rules file to reload");
      } else {
        asio::post(reloads, [r = rules] {
          auto n = r->reload();
          if (n) {
            spdlog::info("rules reloaded from {}: {} rules", r->path(), *n);
          } else {
            spdlog::error("rules not reloaded, the previous rules stay in force: {}", n.error().message);
          }
        });
      }
      reload_on_hangup(hangups);
    });
  }

  Result<void> build() {
    if (!config.rules.file.empty()) {
      auto loaded = rules::ReloadableRules::load(config.rules.file);
      if (!loaded) return make_error(Errc::bad_request, "rules file: " + loaded.error().message);
      rules = std::move(*loaded);
    }
    redis = std::make_unique<redis::Client>(io.get_executor(), config.redis);
    retriever = std::make_unique<retrieval::Retriever>(
        config.retrieval,
        retrieval::make_embedder(io.get_executor(), config.retrieval, redis.get(), registry, config.redis.key_prefix),
        &registry);
    // Never fails start-up: a missing or corrupt snapshot starts empty and says so in the log.
    (void)retriever->load_snapshot();
    if (config.retrieval.replication.enabled) {
      replicator = std::make_unique<replication::Replicator>(io.get_executor(), *redis, *retriever,
                                                             config.retrieval.replication,
                                                             config.server.gateway_id, registry);
    }
    profiles = std::make_unique<profile::ProfileStore>(*redis, config.profile);
    jobs = std::make_unique<queue::JobClient>(io.get_executor(), *redis, config.queue,
                                              config.server.gateway_id);
    pipeline = std::make_unique<orchestrator::WiredPipeline>(
        orchestrator::WiredPipeline::Components{io.get_executor(), rules, *retriever, *profiles, *redis, *jobs, registry,
                                                &render_answer_body},
        orchestrator::pipeline_config(config));
    auth = std::make_unique<ApiKeyAuth>(config.auth);
    limiter = std::make_unique<queue::RateLimiter>(*redis, config.auth, config.redis.key_prefix);
    add_routes();
    add_collectors();
    server = std::make_unique<Server>(io.get_executor(), config.server, router, registry);
    if (auto r = server->listen(); !r) return r;
    jobs->start();
    if (replicator) replicator->start();
    server->start();
    spdlog::info("ragd {} listening on {}:{} gateway_id={} threads={} auth={} rules={} embedder={}", RAGD_VERSION,
                 config.server.listen.substr(0, config.server.listen.rfind(':')), server->port(),
                 config.server.gateway_id, resolve_threads(config), auth->enabled() ? "on" : "off",
                 config.rules.file.empty() ? "none" : config.rules.file, retriever->active_embedder().identity());
    return {};
  }

  void add_collectors() {
    auto& depth = registry.gauge("ragd_queue_depth", "LLM jobs waiting or being processed (sampled).").with();
    auto& inflight_jobs = registry.gauge("ragd_jobs_in_flight", "Jobs this gateway awaits a reply for.").with();
    auto& inflight = registry.gauge("ragd_queries_in_flight", "Queries being processed.").with();
    auto& chunks = registry.gauge("ragd_index_chunks", "Chunks in the index.").with();
    auto& docs = registry.gauge("ragd_index_documents", "Documents in the index.").with();
    auto& version = registry.gauge("ragd_index_version", "Index version (bumped by every change).").with();
    auto& tombstones = registry.gauge("ragd_index_tombstones", "HNSW: deleted vectors still in the graph.").with();
    auto& rebuilds = registry.gauge("ragd_index_rebuilds", "HNSW: graph rebuilds since start.").with();
    auto& trained = registry.gauge("ragd_index_trained", "IVF: 1 once trained (0 while still exact).").with();
    auto& rebuilding = registry.gauge("ragd_index_rebuilding", "1 while an HNSW rebuild or the IVF training runs on the side.").with();
    auto& uptime = registry.gauge("ragd_uptime_seconds", "Seconds since start.").with();
    registry.on_collect([this, &inflight_jobs, &inflight, &chunks, &docs, &version, &uptime, &tombstones,
                         &rebuilds, &trained, &rebuilding] {
      inflight_jobs.set(static_cast<double>(jobs->in_flight()));
      inflight.set(inflight_queries.load());
      chunks.set(static_cast<double>(retriever->chunk_count()));
      docs.set(static_cast<double>(retriever->document_count()));
      version.set(static_cast<double>(retriever->version()));
      const auto index = retriever->index_stats();
      tombstones.set(static_cast<double>(index.tombstones));
      rebuilds.set(static_cast<double>(index.rebuilds));
      trained.set(index.trained ? 1.0 : 0.0);
      rebuilding.set(index.rebuilding ? 1.0 : 0.0);
      uptime.set((mono_ms() - started_ms) / 1000.0);
    });
    // Queue depth needs Redis: sample it in the background instead of during a scrape.
    asio::co_spawn(io, sample_depth(depth), asio::detached);
  }

  asio::awaitable<void> sample_depth(metrics::Gauge& gauge) {
    asio::steady_timer timer(io);
    while (!stopped.load()) {
      if (auto d = co_await jobs->depth(); d) gauge.set(static_cast<double>(*d));
      timer.expires_after(std::chrono::seconds(1));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // Wraps a handler with authentication; the tenant is passed on.
  template <class F>
  Handler authed(F f) {
    return [this, f](Request req) -> asio::awaitable<Response> {
      auto tenant = auth->authenticate(req);
      if (!tenant) {
        Response r = error_response(tenant.error());
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        co_return r;
      }
      if (limiter->enabled()) {
        std::string bucket;  // built outside co_await: GCC 12 and conditional expressions
        if (auth->enabled()) bucket = api_key_sha256(req);
        auto decision = co_await limiter->acquire(std::move(bucket));
        if (!decision.allowed) {
          Response r = Response::error(make_error(Errc::rate_limited, "rate limit exceeded for this API key; retry later"));
          r.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, (decision.retry_after_ms + 999) / 1000)));
          co_return r;
        }
      }
      co_return co_await f(std::move(req), std::move(*tenant));
    };
  }

  void add_routes() {
    // The query's backstop: its deadline plus a margin for the pipeline to answer 504 itself.
    router.add("POST", "/query", authed([this](Request req, std::string tenant) {
                 return handle_query(std::move(req), std::move(tenant));
               }),
               std::chrono::milliseconds(config.server.request_timeout_ms + 250));
    router.add("POST", "/v1/documents", authed([this](Request req, std::string tenant) {
                 return handle_ingest(std::move(req), std::move(tenant));
               }));
    router.add("DELETE", "/v1/documents/{id}", authed([this](Request req, std::string tenant) {
                 return handle_delete(std::move(req), std::move(tenant));
               }));
    router.add("GET", "/v1/documents/{id}", authed([this](Request req, std::string tenant) {
                 return handle_get_document(std::move(req), std::move(tenant));
               }));
    router.add("GET", "/healthz", [](Request) -> asio::awaitable<Response> {
      co_return Response::json(200, R"({"status":"ok"})");
    });
    router.add("GET", "/readyz", [this](Request) { return handle_ready(); });
    router.add("GET", "/metrics", [this](Request) -> asio::awaitable<Response> {
      Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = registry.render();
      co_return r;
    });
  }

  asio::awaitable<Response> handle_query(Request req, std::string tenant) {
    if (!is_json_content_type(req.header("content-type"))) {
      co_return error_response(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
    }
    auto parsed = parse_query_body(req.body, config.query);
    if (!parsed) co_return error_response(parsed.error());
    if (inflight_queries.fetch_add(1) >= config.server.max_inflight) {
      inflight_queries.fetch_sub(1);
      co_return error_response(make_error(Errc::overloaded, "too many queries in flight; retry later"));
    }
    struct Release {
      std::atomic<int>& n;
      ~Release() { n.fetch_sub(1); }
    } release{inflight_queries};
    auto q = std::move(*parsed);
    q.tenant = std::move(tenant);
    q.request_id = req.request_id;
    q.deadline_unix_ms = unix_ms() + config.server.request_timeout_ms;
    // The pipeline honours the deadline leg by leg; the route's backstop (see routes()) is
    // the guard behind it.
    auto result = co_await pipeline->pipeline().run(std::move(q));
    if (!result) co_return error_response(result.error());
    co_return Response::json(200, render_query_result(*result));
  }

  asio::awaitable<Response> handle_ingest(Request req, std::string) {
    if (!is_json_content_type(req.header("content-type"))) {
      co_return error_response(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
    }
    auto docs = parse_documents_body(req.body, config.retrieval);
    if (!docs) co_return error_response(docs.error());
    // Replicated: published to the ingest stream, answered once applied here.
    Result<retrieval::IngestStats> stats = make_error(Errc::internal, "not ingested");
    if (replicator) {
      stats = co_await replicator->ingest(std::move(*docs));
    } else {
      stats = co_await retriever->ingest(std::move(*docs));
    }
    if (!stats) co_return error_response(stats.error());
    json j = {{"documents", stats->documents},
              {"chunks", stats->chunks},
              {"index_version", stats->index_version}};
    co_return Response::json(200, j.dump());
  }

  asio::awaitable<Response> handle_get_document(Request req, std::string) {
    const std::string& id = req.path_params.at(0);
    auto doc = co_await retriever->document(id);
    if (!doc) co_return error_response(make_error(Errc::not_found, "no document with id '" + id + "'"));
    co_return Response::json(200, render_document(*doc, retriever->version()));
  }

  asio::awaitable<Response> handle_delete(Request req, std::string) {
    const std::string& id = req.path_params.at(0);
    if (replicator) {
      auto replicated = co_await replicator->remove(id);
      if (!replicated) co_return error_response(replicated.error());
      if (!replicated->removed) co_return error_response(make_error(Errc::not_found, "no document with id '" + id + "'"));
      json j = {{"deleted", id}, {"index_version", replicated->index_version}};
      co_return Response::json(200, j.dump());
    }
    auto removed = co_await retriever->remove(id);
    if (!removed) co_return error_response(removed.error());
    if (!*removed) co_return error_response(make_error(Errc::not_found, "no document with id '" + id + "'"));
    json j = {{"deleted", id}, {"index_version", retriever->version()}};
    co_return Response::json(200, j.dump());
  }

  asio::awaitable<Response> handle_ready() {
    json checks = json::object();
    std::vector<std::string> reasons;
    redis::Command ping_cmd{"PING"};  // built outside co_await: GCC 12 and braced lists
    auto ping = co_await redis->command(std::move(ping_cmd), std::chrono::milliseconds(500));
    bool redis_ok = ping && !ping->is_error();
    checks["redis"] = redis_ok ? "ok" : "unreachable";
    if (!redis_ok) reasons.push_back("redis is unreachable");
    checks["index"] = {{"loaded", true}, {"chunks", retriever->chunk_count()}};
    std::int64_t workers = 0;
    if (redis_ok) {
      auto w = co_await jobs->live_workers();
      if (w) workers = *w;
    }
    checks["workers"] = workers;
    if (replicator) {
      const auto st = replicator->status();
      const char* state = st.diverged ? "diverged" : !st.caught_up ? "catching_up" : "ok";
      checks["replication"] = {{"state", state},
                               {"applied_sequence", st.applied_sequence},
                               {"stream_sequence", st.stream_sequence},
                               {"lag_entries", st.lag_entries},
                               {"lag_seconds", st.lag_seconds}};
      if (st.diverged) {
        reasons.push_back("replication diverged: " + st.reason + "; reseed this replica");
      } else if (!st.caught_up) {
        reasons.push_back("replication catching up: " + std::to_string(st.lag_entries) +
                          " ingest stream entries behind");
      }
    } else {
      checks["replication"] = "off";
    }
    std::vector<std::string> warnings;
    if (workers < 1) {
      // With workers scaled to zero, queries wait in the queue until the autoscaler starts one.
      auto& missing = config.readiness.require_workers ? reasons : warnings;
      missing.push_back("no worker heartbeat in the last " + std::to_string(config.queue.worker_stale_ms) + " ms");
    }
    bool ready = reasons.empty() && !stopped.load();
    if (stopped.load()) reasons.push_back("shutting down");
    json j = {{"status", ready ? "ready" : "not_ready"}, {"checks", checks}};
    if (!ready) j["reasons"] = reasons;
    if (!warnings.empty()) j["warnings"] = warnings;
    co_return Response::json(ready ? 200 : 503, j.dump());
  }

  void begin_shutdown() {
    if (stopped.exchange(true)) return;
    spdlog::info("shutting down: no new connections; waiting up to {} s for {} requests in flight",
                 kShutdownGrace.count(), server ? server->requests_in_flight() : 0);
    if (server) server->stop();
    asio::co_spawn(io, finish_shutdown(), asio::detached);
  }

  asio::awaitable<void> finish_shutdown() {
    asio::steady_timer timer(io);
    auto until = std::chrono::steady_clock::now() + kShutdownGrace;
    while (server && server->requests_in_flight() > 0 && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (replicator) replicator->stop();  // nothing is applied after the last snapshot
    if (retriever) {
      auto saved = co_await retriever->save_snapshot();
      if (!saved) spdlog::error("index snapshot not saved at shutdown: {}", saved.error().message);
    }
    if (jobs) jobs->stop();
    if (redis) redis->close();
    io.stop();
  }
};

Gateway::Gateway(GatewayConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Gateway::~Gateway() = default;

Result<void> Gateway::start() { return impl_->build(); }

int Gateway::run() {
  asio::signal_set signals(impl_->io, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("received signal {}", sig);
      impl_->begin_shutdown();
    }
  });
  asio::signal_set hangups(impl_->io, SIGHUP);
  impl_->reload_on_hangup(hangups);
  const int n = Impl::resolve_threads(impl_->config);
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& t : threads) t.join();
  spdlog::info("stopped");
  return 0;
}

void Gateway::stop() {
  asio::post(impl_->io, [this] { impl_->begin_shutdown(); });
}

unsigned short Gateway::port() const { return impl_->server ? impl_->server->port() : 0; }

}  // namespace ragd::http
