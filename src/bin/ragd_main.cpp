// ragd: the HTTP gateway and query orchestrator.
#include "ragd/core/cli.hpp"
#include "ragd/http/gateway_config.hpp"
#include "ragd/http/gateway.hpp"
#include "ragd/log/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

const std::vector<ragd::FlagSpec> kFlags = {
    {"listen", true, "address to listen on (env RAGD_LISTEN; default 127.0.0.1:8080)", "HOST:PORT"},
    {"redis", true, "Redis URL (env RAGD_REDIS_URL; default redis://127.0.0.1:6379)", "URL"},
    {"config", true, "JSON config file (env RAGD_CONFIG); see config/ragd.json", "FILE"},
    {"rules", true, "rules file (env RAGD_RULES_FILE); see config/rules.json", "FILE"},
    {"threads", true, "I/O threads (env RAGD_THREADS; default: the cores left after retrieval.search_threads, at least 1)", "N"},
    {"log-level", true, "trace, debug, info, warn, error or off (env RAGD_LOG_LEVEL)", "LEVEL"},
    {"check-config", false, "validate the configuration and exit"},
    {"help", false, "show this help and exit"},
    {"version", false, "show the version and exit"},
};

int fail(const std::string& message) {
  std::cerr << "ragd: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = ragd::parse_flags(argc, argv, kFlags);
  if (!flags) return fail(ragd::log_text(flags.error()) + " (see --help)");
  if (flags->has("help")) {
    std::cout << "Usage: ragd [flags]\n\nThe ragd gateway: HTTP API, retrieval and query orchestration.\n"
                 "Flags win over environment variables, which win over the config file.\n\n"
              << ragd::flags_help(kFlags) << "\n"
              << ragd::env_help(ragd::gateway_env_variables());
    return 0;
  }
  if (flags->has("version")) {
    std::cout << "ragd " RAGD_VERSION "\n";
    return 0;
  }

  ragd::GatewayConfig config;
  std::string config_path = flags->get("config").value_or(std::getenv("RAGD_CONFIG") ? std::getenv("RAGD_CONFIG") : "");
  if (!config_path.empty()) {
    auto loaded = ragd::load_gateway_config(config_path);
    if (!loaded) return fail("bad config: " + ragd::log_text(loaded.error()));
    config = std::move(*loaded);
  }
  if (auto r = ragd::apply_gateway_env(config); !r) return fail(ragd::log_text(r.error()));
  if (auto v = flags->get("listen")) config.server.listen = *v;
  if (auto v = flags->get("redis")) config.redis.url = *v;
  if (auto v = flags->get("rules")) config.rules.file = *v;
  if (auto v = flags->get("log-level")) config.log.level = *v;
  if (auto v = flags->get("threads")) {
    try {
      config.server.threads = std::stoi(*v);
    } catch (const std::exception&) {
      return fail("--threads must be an integer, got '" + *v + "'");
    }
  }
  if (auto r = ragd::validate(config); !r) return fail("bad config: " + ragd::log_text(r.error()));
  if (flags->has("check-config")) {
    std::cout << "ragd: configuration is valid\n";
    return 0;
  }

  ragd::log::setup_logging(config.log, "ragd");
  ragd::http::Gateway gateway(std::move(config));
  if (auto r = gateway.start(); !r) {
    ragd::log::flush_logging();
    std::cerr << "ragd: cannot start: " << ragd::log_text(r.error()) << "\n";
    return 1;
  }
  int code = gateway.run();
  ragd::log::flush_logging();
  return code;
}
