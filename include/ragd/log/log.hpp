// Logging set-up: one spdlog logger per process, created once at start-up, plain
// `key=value` text or JSON lines. After setup_logging() any thread may log through spdlog's
// default logger; flush_logging() is the last step of shutdown.
//
// Trace ids: a TraceScope tags the lines its thread logs while it lives with a request's
// trace id (text: a trailing ` trace_id=…` field; JSON: a "trace_id" member). spdlog's
// logger here is synchronous, so the line is formatted on the logging thread: scope the
// tag to the log call itself, never across a co_await (the coroutine may resume on another
// thread, and other coroutines run on this one meanwhile).
#pragma once

#include "ragd/log/log_config.hpp"

#include <spdlog/formatter.h>

#include <memory>
#include <string_view>

namespace ragd::log {

void setup_logging(const LogConfig& config, std::string_view process_name);
void flush_logging();

// Escapes a value for a key=value log line (quotes it when it holds spaces or quotes).
std::string field(std::string_view value);

// The line format setup_logging() gives its logger (text or JSON lines, with the trace
// id field); for a logger of one's own, e.g. over another sink.
std::unique_ptr<spdlog::formatter> make_formatter(bool json);

class TraceScope {
 public:
  // `trace_id` must outlive the scope; empty tags nothing.
  explicit TraceScope(std::string_view trace_id) noexcept;
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  std::string_view previous_;
};

}  // namespace ragd::log
