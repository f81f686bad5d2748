// ragd-worker: reads LLM jobs from the Redis queue, answers them with the configured
// generator (an OpenAI-compatible API, or the built-in offline generator), writes each
// reply back to the gateway that asked, then acknowledges the job.
#include "ragd/core/io_context.hpp"
#include "ragd/core/cli.hpp"
#include "ragd/llm/worker_config.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/http/probe_server.hpp"
#include "ragd/llm/generator.hpp"
#include "ragd/log/log.hpp"
#include "ragd/metrics/metrics.hpp"
#include "ragd/net/http_client.hpp"
#include "ragd/queue/worker_runner.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;

namespace {

const std::vector<ragd::FlagSpec> kFlags = {
    {"redis", true, "Redis URL (env RAGD_REDIS_URL; default redis://127.0.0.1:6379)", "URL"},
    {"concurrency", true, "jobs in flight in this process (env RAGD_WORKER_CONCURRENCY; default 32)", "N"},
    {"config", true, "JSON config file (env RAGD_WORKER_CONFIG); see config/worker.json", "FILE"},
    {"llm-base-url", true, "OpenAI-compatible server (env RAGD_LLM_BASE_URL); unset = offline generator", "URL"},
    {"llm-model", true, "model name sent to the server (env RAGD_LLM_MODEL)", "NAME"},
    {"name", true, "consumer name in the queue (default hostname-pid)", "NAME"},
    {"metrics-listen", true,
     "serve /metrics, /healthz and /readyz on HOST:PORT (env RAGD_WORKER_METRICS_LISTEN; default none)",
     "HOST:PORT"},
    {"log-level", true, "trace, debug, info, warn, error or off (env RAGD_LOG_LEVEL)", "LEVEL"},
    {"help", false, "show this help and exit"},
    {"version", false, "show the version and exit"},
};

int fail(const std::string& message) {
  std::cerr << "ragd-worker: " << message << "\n";
  return 2;
}

std::string default_consumer_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

#ifdef RAGD_TEST_FAILPOINTS
// Only in ragd-worker-failpoints, a build for the fault tests (tests/CMakeLists.txt): a job
// whose question contains $RAGD_FAILPOINT_CRASH_ON_QUESTION kills the process, as a poison
// job would.
ragd::queue::JobHandler with_crash_failpoint(ragd::queue::JobHandler handler) {
  const char* crash_env = std::getenv("RAGD_FAILPOINT_CRASH_ON_QUESTION");
  const std::string crash_on = crash_env ? crash_env : "";
  if (crash_on.empty()) return handler;
  return [handler = std::move(handler), crash_on](ragd::queue::Job job) -> asio::awaitable<ragd::queue::JobReply> {
    if (job.question.find(crash_on) != std::string::npos) {
      spdlog::critical("failpoint: crashing on job={}", job.id);
      ragd::log::flush_logging();
      std::abort();
    }
    return handler(std::move(job));
  };
}
#endif

}  // namespace

int main(int argc, char** argv) {
  auto flags = ragd::parse_flags(argc, argv, kFlags);
  if (!flags) return fail(ragd::log_text(flags.error()) + " (see --help)");
  if (flags->has("help")) {
    std::cout << "Usage: ragd-worker [flags]\n\nAnswers LLM jobs from the ragd queue.\n"
                 "Flags win over environment variables, which win over the config file.\n\n"
              << ragd::flags_help(kFlags) << "\n"
              << ragd::env_help(ragd::worker_env_variables());
    return 0;
  }
  if (flags->has("version")) {
    std::cout << "ragd-worker " RAGD_VERSION "\n";
    return 0;
  }

  ragd::WorkerConfig config;
  const char* env_config = std::getenv("RAGD_WORKER_CONFIG");
  std::string config_path = flags->get("config").value_or(env_config ? env_config : "");
  if (!config_path.empty()) {
    auto loaded = ragd::load_worker_config(config_path);
    if (!loaded) return fail("bad config: " + ragd::log_text(loaded.error()));
    config = std::move(*loaded);
  }
  if (auto r = ragd::apply_worker_env(config); !r) return fail(ragd::log_text(r.error()));
  if (auto v = flags->get("redis")) config.redis.url = *v;
  if (auto v = flags->get("llm-base-url")) config.llm.base_url = *v;
  if (auto v = flags->get("llm-model")) config.llm.model = *v;
  if (auto v = flags->get("name")) config.consumer_name = *v;
  if (auto v = flags->get("metrics-listen")) config.metrics_listen = *v;
  if (auto v = flags->get("log-level")) config.log.level = *v;
  if (auto v = flags->get("concurrency")) {
    try {
      config.concurrency = std::stoi(*v);
    } catch (const std::exception&) {
      return fail("--concurrency must be an integer, got '" + *v + "'");
    }
  }
  if (auto r = ragd::validate(config); !r) return fail("bad config: " + ragd::log_text(r.error()));
  if (config.consumer_name.empty()) config.consumer_name = default_consumer_name();
  if (config.llm.max_idle_connections == 0) config.llm.max_idle_connections = std::max(config.concurrency, 4);

  ragd::log::setup_logging(config.log, "ragd-worker");
  ragd::IoContext io(1);
  auto generator = ragd::llm::make_generator(io.get_executor(), config.llm);
  const std::string consumer = config.consumer_name;
  // One job through the generator; `publish` set for a streamed job.
  auto answer = [&generator, consumer](ragd::queue::Job job, ragd::queue::DeltaPublisher publish)
      -> asio::awaitable<ragd::queue::JobReply> {
    ragd::queue::JobReply reply;
    reply.job_id = job.id;
    reply.worker = consumer;
    if (job.enqueued_unix_ms > 0) {
      reply.queue_wait_ms = static_cast<double>(std::max<std::int64_t>(0, ragd::unix_ms() - job.enqueued_unix_ms));
    }
    const double t0 = ragd::mono_ms();
    ragd::Result<ragd::llm::GenerateResult> result{ragd::llm::GenerateResult{}};
    if (publish) {
      result = co_await generator->generate_stream(std::move(job), std::move(publish));
    } else {
      result = co_await generator->generate(std::move(job));
    }
    reply.llm_ms = ragd::mono_ms() - t0;
    if (result) {
      reply.ok = true;
      reply.text = std::move(result->text);
      reply.model = std::move(result->model);
      reply.prompt_tokens = result->prompt_tokens;
      reply.completion_tokens = result->completion_tokens;
    } else {
      reply.error_code = std::string(ragd::to_string(result.error().code));
      reply.error_message = result.error().message;  // what the asker's client is told
      if (!result.error().detail.empty()) {
        spdlog::warn("worker {} job={} model call failed: {}", consumer, reply.job_id, ragd::log_text(result.error()));
      }
    }
    co_return reply;
  };
  ragd::queue::JobHandler handler = [answer](ragd::queue::Job job) { return answer(std::move(job), {}); };
  ragd::queue::StreamJobHandler stream_handler = [answer](ragd::queue::Job job, ragd::queue::DeltaPublisher publish) {
    return answer(std::move(job), std::move(publish));
  };
#ifdef RAGD_TEST_FAILPOINTS
  handler = with_crash_failpoint(std::move(handler));
#endif

  ragd::queue::WorkerRunner runner(io.get_executor(), config.redis, config.queue, consumer,
                                   config.concurrency, handler);
  runner.set_job_decoding(generator->job_decoding());
  runner.set_stream_handler(stream_handler);
  ragd::metrics::Registry registry;
  runner.set_metrics(registry);
  // Readiness: Redis answers, and the model server answers (any HTTP status) when one is set.
  ragd::redis::Client probe_redis(io.get_executor(), [&] {
    auto c = config.redis;
    c.pool_size = 1;
    return c;
  }());
  ragd::net::HttpClient probe_http(io.get_executor());
  std::atomic<bool> draining{false};  // after SIGTERM: not ready, still healthy
  ragd::http::ProbeServer probes(
      io.get_executor(), config.metrics_listen, registry,
      [&]() -> asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> reasons;
        if (draining) reasons.emplace_back("shutting down");
        auto pong = co_await probe_redis.command(ragd::redis::make_command("PING"), std::chrono::seconds(1));
        if (!pong || pong->is_error()) {
          reasons.push_back("redis: " + (pong ? pong->str : ragd::log_text(pong.error())));
        }
        if (!config.llm.base_url.empty()) {
          ragd::net::HttpRequest req;
          req.method = "GET";
          req.url = config.llm.base_url;
          req.timeout = std::chrono::seconds(2);
          auto r = co_await probe_http.request(std::move(req));
          if (!r) reasons.push_back("model server: " + ragd::log_text(r.error()));  // the detail names its URL
        }
        co_return reasons;
      });
  if (!config.metrics_listen.empty()) {
    if (auto r = probes.start(); !r) return fail("--metrics-listen: " + ragd::log_text(r.error()));
    spdlog::info("serving /metrics, /healthz and /readyz on {} metrics_port={}", config.metrics_listen, probes.port());
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer grace(io);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("received signal {}; finishing {} jobs in flight (grace {} ms)", sig, runner.in_flight(),
                 config.shutdown_grace_ms);
    draining = true;
    runner.stop();
    grace.expires_after(std::chrono::milliseconds(config.shutdown_grace_ms));
    grace.async_wait([&](const boost::system::error_code& gec) {
      if (gec) return;
      spdlog::warn("grace period over; {} jobs left pending for other workers", runner.in_flight());
      io.stop();
    });
  });
  spdlog::info("ragd-worker {} consumer={} concurrency={} llm={}", RAGD_VERSION, consumer,
               config.concurrency, config.llm.base_url.empty() ? "offline" : config.llm.base_url);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await runner.run();
    if (!config.metrics_listen.empty()) probes.stop();
    signals.cancel();
    grace.cancel();
    spdlog::info("stopped after {} jobs", runner.processed());
    io.stop();
  }, asio::detached);
  io.run();
  // What is still pending (jobs cut at the grace) goes while the runner and the generator
  // it refers to are alive.
  io.destroy_handlers();
  ragd::log::flush_logging();
  return 0;
}
