#include "metrics_handler.hpp"

#include "ragd/core/ids.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/queue/job_client.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ragd::http {

namespace asio = boost::asio;

MetricsHandler::MetricsHandler(asio::any_io_executor ex, metrics::Registry& registry, GatewayGaugeSources sources)
    : ex_(std::move(ex)), registry_(registry), sources_(std::move(sources)), started_ms_(mono_ms()) {}

void MetricsHandler::start() {
  auto& r = registry_;
  auto& depth = r.gauge("ragd_queue_depth", "LLM jobs waiting or being processed (sampled).").with();
  auto& inflight_jobs = r.gauge("ragd_jobs_in_flight", "Jobs this gateway awaits a reply for.").with();
  auto& inflight = r.gauge("ragd_queries_in_flight", "Queries being processed.").with();
  auto& chunks = r.gauge("ragd_index_chunks", "Chunks in the index.").with();
  auto& docs = r.gauge("ragd_index_documents", "Documents in the index.").with();
  auto& version = r.gauge("ragd_index_version",
                          "The greatest tenant index version (each tenant's moves with its own changes).").with();
  auto& tombstones = r.gauge("ragd_index_tombstones", "HNSW: deleted vectors still in the graph.").with();
  auto& rebuilds = r.gauge("ragd_index_rebuilds", "HNSW: graph rebuilds since start.").with();
  auto& trained = r.gauge("ragd_index_trained", "IVF: 1 once trained (0 while still exact).").with();
  auto& rebuilding = r.gauge("ragd_index_rebuilding", "1 while an HNSW rebuild or the IVF training runs on the side.").with();
  auto& uptime = r.gauge("ragd_uptime_seconds", "Seconds since start.").with();
  r.on_collect([this, &inflight_jobs, &inflight, &chunks, &docs, &version, &uptime, &tombstones, &rebuilds, &trained,
                &rebuilding] {
    auto& retriever = sources_.retriever;
    inflight_jobs.set(static_cast<double>(sources_.jobs.in_flight()));
    inflight.set(sources_.queries_in_flight());
    chunks.set(static_cast<double>(retriever.chunk_count()));
    docs.set(static_cast<double>(retriever.document_count()));
    version.set(static_cast<double>(retriever.corpora().max_version()));
    const auto index = retriever.index_stats();
    tombstones.set(static_cast<double>(index.tombstones));
    rebuilds.set(static_cast<double>(index.rebuilds));
    trained.set(index.trained ? 1.0 : 0.0);
    rebuilding.set(index.rebuilding ? 1.0 : 0.0);
    uptime.set((mono_ms() - started_ms_) / 1000.0);
  });
  asio::co_spawn(ex_, sample_depth(depth), asio::detached);
}

asio::awaitable<void> MetricsHandler::sample_depth(metrics::Gauge& gauge) {
  asio::steady_timer timer(ex_);
  while (!sources_.stopping.load()) {
    if (auto d = co_await sources_.jobs.depth(); d) gauge.set(static_cast<double>(*d));
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(kNoThrow);
  }
}

asio::awaitable<Response> MetricsHandler::serve(Request) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = registry_.render();
  co_return r;
}

}  // namespace ragd::http
