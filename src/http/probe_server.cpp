#include "ragd/http/probe_server.hpp"

#include "ragd/http/server.hpp"
#include "ragd/metrics/metrics.hpp"

#include <nlohmann/json.hpp>

namespace ragd::http {

namespace asio = boost::asio;

struct ProbeServer::Impl {
  Impl(asio::any_io_executor ex, std::string listen, metrics::Registry& registry, ReadyCheck check)
      : registry(registry), check(std::move(check)) {
    ServerConfig config;
    config.listen = std::move(listen);
    router.add("GET", "/healthz", [](Request) -> asio::awaitable<Response> {
      co_return Response::json(200, R"({"status":"ok"})");
    });
    router.add("GET", "/readyz", [this](Request) -> asio::awaitable<Response> {
      auto reasons = co_await this->check();
      if (reasons.empty()) co_return Response::json(200, R"({"status":"ready"})");
      co_return Response::json(503, nlohmann::json{{"status", "not ready"}, {"reasons", reasons}}.dump());
    });
    router.add("GET", "/metrics", [this](Request) -> asio::awaitable<Response> {
      Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = this->registry.render();
      co_return r;
    });
    server = std::make_unique<Server>(std::move(ex), std::move(config), router, registry);
  }

  metrics::Registry& registry;
  ReadyCheck check;
  Router router;
  std::unique_ptr<Server> server;
};

ProbeServer::ProbeServer(asio::any_io_executor ex, std::string listen, metrics::Registry& metrics,
                         ReadyCheck check)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(listen), metrics, std::move(check))) {}

ProbeServer::~ProbeServer() = default;

Result<void> ProbeServer::start() {
  if (auto r = impl_->server->listen(); !r) return r;
  impl_->server->start();
  return {};
}

unsigned short ProbeServer::port() const { return impl_->server->port(); }

void ProbeServer::stop() { impl_->server->stop(); }

}  // namespace ragd::http
