// Logging set-up: one spdlog logger per process, created once at start-up, plain
// `key=value` text or JSON lines. After setup_logging() any thread may log through spdlog's
// default logger; flush_logging() is the last step of shutdown.
#pragma once

#include "ragd/log/log_config.hpp"

#include <string_view>

namespace ragd::log {

void setup_logging(const LogConfig& config, std::string_view process_name);
void flush_logging();

// Escapes a value for a key=value log line (quotes it when it holds spaces or quotes).
std::string field(std::string_view value);

}  // namespace ragd::log
