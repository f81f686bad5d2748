// The gateway's wiring: builds the components in dependency order, gives each handler its
// slice of them, registers the routes, and runs the start-up and shutdown protocols. What
// a route does lives in its handler (query_handler, chat_handler, documents_handler,
// health_handler, metrics_handler, keys_handler; access for keys, scopes and rate limits).
#include "ragd/http/gateway.hpp"

#include "ragd/core/io_context.hpp"
#include "ragd/core/completion_token.hpp"

#include "access.hpp"
#include "chat_handler.hpp"
#include "keys_handler.hpp"
#include "documents_handler.hpp"
#include "health_handler.hpp"
#include "metrics_handler.hpp"
#include "query_handler.hpp"
#include "ragd/auth/key_store.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/http/answer_body.hpp"
#include "ragd/http/auth.hpp"
#include "ragd/http/rate_limiter.hpp"
#include "ragd/http/server.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/wired_pipeline.hpp"
#include "ragd/profile/profile_store.hpp"
#include "ragd/queue/job_client.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/replication/replicator.hpp"
#include "ragd/retrieval/remote_embedder.hpp"
#include "ragd/retrieval/retriever.hpp"
#include "ragd/rules/reloadable_rules.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <thread>

namespace ragd::http {

namespace asio = boost::asio;

namespace {

// The pipeline's section of the gateway's configuration (model, query, retrieval, profile,
// cache, redis.key_prefix and server.request_timeout_ms).
orchestrator::PipelineConfig pipeline_config(const GatewayConfig& c) {
  const CacheConfig& cache = c.cache;
  return orchestrator::PipelineConfig{
      .model = c.model,
      .default_top_k = c.query.default_top_k,
      .retrieval_timeout_ms = c.retrieval.timeout_ms,
      .context_timeout_ms = c.profile.timeout_ms,
      .profile_ttl_ms = cache.profile_ttl_ms,
      .answers = {cache.enabled, cache.l2_enabled, cache.soft_ttl_ms, cache.hard_ttl_ms, cache.l1_max_entries,
                  cache.l1_max_bytes, cache.refresh_lock_ms, c.server.request_timeout_ms, c.redis.key_prefix},
      .sessions = {cache.session_turns, cache.session_ttl_ms, cache.session_l1_max_entries, c.redis.key_prefix},
  };
}

}  // namespace

int io_threads(const GatewayConfig& config, unsigned hardware_threads) {
  if (config.server.threads > 0) return config.server.threads;
  const int cores = static_cast<int>(std::max(1u, hardware_threads));
  return std::max(1, cores - std::max(1, config.retrieval.search_threads));
}

struct Gateway::Impl {
  GatewayConfig config;
  IoContext io;  // first, and its handlers destroyed first (~Impl): they refer to the rest
  metrics::Registry registry;
  std::atomic<bool> stopped{false};
  // Components, bottom up.
  std::unique_ptr<redis::Client> redis;
  std::unique_ptr<retrieval::Retriever> retriever;
  std::unique_ptr<replication::Replicator> replicator;  // null in standalone mode
  std::unique_ptr<profile::ProfileStore> profiles;
  std::unique_ptr<queue::JobClient> jobs;
  std::shared_ptr<rules::ReloadableRules> rules;  // null: no rules file
  std::unique_ptr<orchestrator::WiredPipeline> pipeline;
  std::unique_ptr<auth::KeyStore> keys;
  std::unique_ptr<ApiKeyAuth> auth;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<FailedAuthLimiter> failed_auths;
  // Handlers, by resource.
  std::unique_ptr<Access> access;
  std::unique_ptr<KeysHandler> keys_api;
  std::unique_ptr<QueryHandler> queries;
  std::unique_ptr<ChatHandler> chat;
  std::unique_ptr<DocumentsHandler> documents;
  std::unique_ptr<HealthHandler> health;
  std::unique_ptr<MetricsHandler> metrics_endpoint;
  Router router;
  std::unique_ptr<Server> server;
  asio::thread_pool reloads{1};  // SIGHUP's rules reloads: file I/O off the I/O threads

  explicit Impl(GatewayConfig c) : config(std::move(c)), io(resolve_threads(config)) {
    if (config.server.gateway_id.empty()) config.server.gateway_id = random_id().substr(0, 12);
  }

  // The handlers still pending after the last run() (a connection's session cut at
  // shutdown, a query waiting on the queue) go while the components they refer to are alive.
  ~Impl() { io.destroy_handlers(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

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
            spdlog::error("rules not reloaded, the previous rules stay in force: {}", log_text(n.error()));
          }
        });
      }
      reload_on_hangup(hangups);
    });
  }

  Result<void> build() {
    if (auto r = build_components(); !r) return r;
    build_handlers();
    add_routes();
    metrics_endpoint->start();
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

  Result<void> build_components() {
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
      replicator = std::make_unique<replication::Replicator>(io.get_executor(), *redis, retriever->local_writer(),
                                                             config.retrieval.replication,
                                                             config.server.gateway_id, registry);
    }
    profiles = std::make_unique<profile::ProfileStore>(*redis, config.profile, config.redis.key_prefix);
    jobs = std::make_unique<queue::JobClient>(io.get_executor(), *redis, config.queue, config.server.gateway_id);
    pipeline = std::make_unique<orchestrator::WiredPipeline>(
        orchestrator::WiredPipeline::Components{io.get_executor(), rules, *retriever, *profiles, *redis, *jobs, registry,
                                                &render_answer_body},
        pipeline_config(config));
    keys = std::make_unique<auth::KeyStore>(*redis, config.redis.key_prefix);
    auth = std::make_unique<ApiKeyAuth>(config.auth, keys.get());
    limiter = std::make_unique<RateLimiter>(*redis, config.auth, config.redis.key_prefix);
    failed_auths = std::make_unique<FailedAuthLimiter>(config.auth.failed_auth_limit);
    return {};
  }

  void build_handlers() {
    access = std::make_unique<Access>(*auth, *limiter, *failed_auths);
    keys_api = std::make_unique<KeysHandler>(*keys);
    queries = std::make_unique<QueryHandler>(pipeline->pipeline(), config.server, config.query);
    // The chat API's one model: the configured model's name, or "ragd" when each worker
    // uses its own.
    chat = std::make_unique<ChatHandler>(*queries, config.query,
                                         std::vector<std::string>{config.model.empty() ? "ragd" : config.model});
    retrieval::DocumentWriter& writer =
        replicator ? static_cast<retrieval::DocumentWriter&>(*replicator) : retriever->local_writer();
    documents = std::make_unique<DocumentsHandler>(writer, *retriever, config.retrieval);
    health = std::make_unique<HealthHandler>(HealthDeps{*redis, *retriever, *jobs, replicator.get(), stopped},
                                             config.queue, config.readiness);
    metrics_endpoint = std::make_unique<MetricsHandler>(
        io.get_executor(), registry,
        GatewayGaugeSources{*jobs, *retriever, [q = queries.get()] { return q->in_flight(); }, stopped});
  }

  void add_routes() {
    // The query's backstop: its deadline plus a margin for the pipeline to answer 504 itself.
    using auth::Scope;
    router.add("POST", "/query",
               access->guard(Scope::query,
                             [q = queries.get()](Request req, Principal p) {
                               return q->handle(std::move(req), std::move(p.tenant));
                             }),
               std::chrono::milliseconds(config.server.request_timeout_ms + 250));
    ChatHandler* chat_api = chat.get();
    router.add("POST", "/v1/chat/completions",
               access->guard(Scope::query,
                             [chat_api](Request req, Principal p) {
                               return chat_api->complete(std::move(req), std::move(p.tenant));
                             }),
               std::chrono::milliseconds(config.server.request_timeout_ms + 250));
    router.add("GET", "/v1/models", access->guard(Scope::query, [chat_api](Request req, Principal p) {
                 return chat_api->models(std::move(req), std::move(p.tenant));
               }));
    DocumentsHandler* d = documents.get();
    router.add("POST", "/v1/documents", access->guard(Scope::documents_write, [d](Request req, Principal p) {
                 return d->ingest(std::move(req), std::move(p));
               }));
    router.add("DELETE", "/v1/documents/{id}", access->guard(Scope::documents_write, [d](Request req, Principal p) {
                 return d->remove(std::move(req), std::move(p));
               }));
    router.add("GET", "/v1/documents", access->guard(Scope::documents_read, [d](Request req, Principal p) {
                 return d->list(std::move(req), std::move(p.tenant));
               }));
    router.add("GET", "/v1/documents/{id}", access->guard(Scope::documents_read, [d](Request req, Principal p) {
                 return d->get(std::move(req), std::move(p.tenant));
               }));
    KeysHandler* k = keys_api.get();
    router.add("POST", "/v1/admin/keys", access->guard(Scope::admin, [k](Request req, Principal p) {
                 return k->create(std::move(req), std::move(p));
               }));
    router.add("GET", "/v1/admin/keys", access->guard(Scope::admin, [k](Request req, Principal p) {
                 return k->list(std::move(req), std::move(p));
               }));
    router.add("DELETE", "/v1/admin/keys/{id}", access->guard(Scope::admin, [k](Request req, Principal p) {
                 return k->revoke(std::move(req), std::move(p));
               }));
    // The probes and /metrics answer through the drain (/readyz then says "shutting down").
    constexpr auto kNoBackstop = std::chrono::milliseconds::zero();
    router.add("GET", "/healthz", &HealthHandler::live, kNoBackstop, WhileDraining::served);
    router.add("GET", "/readyz", [h = health.get()](Request req) { return h->ready(std::move(req)); }, kNoBackstop,
               WhileDraining::served);
    router.add("GET", "/metrics", [m = metrics_endpoint.get()](Request req) { return m->serve(std::move(req)); },
               kNoBackstop, WhileDraining::served);
  }

  void begin_shutdown() {
    if (stopped.exchange(true)) return;
    spdlog::info("shutting down: up to {} ms for {} requests in flight; new requests get 503, probes are served",
                 config.server.shutdown_grace_ms, server ? server->requests_in_flight() : 0);
    if (server) server->drain();
    asio::co_spawn(io, finish_shutdown(), asio::detached);
  }

  // The drain ends when the requests in flight are done or the grace period is over; then
  // the listener closes.
  asio::awaitable<void> finish_shutdown() {
    asio::steady_timer timer(io);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.server.shutdown_grace_ms);
    while (server && server->requests_in_flight() > 0 && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(kNoThrow);
    }
    if (server) server->stop();
    if (replicator) replicator->stop();  // nothing is applied after the last snapshot
    if (retriever) {
      auto saved = co_await retriever->save_snapshot();
      if (!saved) spdlog::error("index snapshot not saved at shutdown: {}", log_text(saved.error()));
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
