// The ragd gateway process as one object: it owns the io_context and its threads, the
// Redis client, the retriever (and, unless standalone, the replicator that keeps it on the
// same documents as the other replicas), the rules, the job client, the pipeline, the routes
// and the HTTP server. The main parses flags and config, then start() and run().
//
// Routes: POST /query, POST /v1/chat/completions, GET /v1/models, POST /v1/documents, GET
// and DELETE /v1/documents/{id}, GET /healthz, GET /readyz, GET /metrics; what each does lives in its handler (src/http/*_handler.*).
//
// Shutdown protocol (stop(), or SIGTERM/SIGINT during run()): stop accepting, let
// requests in flight finish within the grace period, then cancel what remains and stop
// the I/O threads. Thread-safety: stop() may be called from any thread.
#pragma once

#include "ragd/http/gateway_config.hpp"
#include "ragd/core/error.hpp"

#include <memory>

namespace ragd::http {

// How many I/O threads a gateway runs: `server.threads` when set, else the cores left
// after the retriever's `search_threads` (at least one). Threads beyond the cores share
// them with the search pool, and the threads of one io_context share its scheduler's lock:
// on a 2-core machine two I/O threads beside two search threads cost ragd about 12% more
// CPU per request than one (docs/operations.md, "Threads").
int io_threads(const GatewayConfig& config, unsigned hardware_threads);

class Gateway {
 public:
  explicit Gateway(GatewayConfig config);
  ~Gateway();

  // Builds the components and binds the listen address. Errors name what failed.
  Result<void> start();
  // Runs the I/O threads until stop() or a termination signal; returns the exit code.
  int run();
  void stop();
  unsigned short port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragd::http
