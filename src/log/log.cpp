#include "ragd/log/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace ragd::log {

namespace {

// The trace id TraceScope set on this thread (empty: none).
thread_local std::string_view current_trace_id;

// %* : the current trace id as a field, or nothing. Text lines get " trace_id=<id>", JSON
// lines a member ,"trace_id":"<id>" (the id is hex: no escaping needed).
class TraceIdFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit TraceIdFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (current_trace_id.empty()) return;
    const std::string_view prefix = json_ ? R"(,"trace_id":")" : " trace_id=";
    dest.append(prefix.data(), prefix.data() + prefix.size());
    dest.append(current_trace_id.data(), current_trace_id.data() + current_trace_id.size());
    if (json_) dest.push_back('"');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TraceIdFlag>(json_); }

 private:
  bool json_;
};

// %j : the message as the body of a JSON string (quotes, backslashes and control
// characters escaped), so every JSON line parses whatever the message holds.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (c == '\t') {
        dest.append(std::string_view("\\t"));
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<TraceIdFlag>('*', json);
  f->add_flag<JsonMessageFlag>('j');
  f->set_pattern(json ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","proc":"%n","pid":%P,"msg":"%j"%*})"
                      : "%Y-%m-%dT%H:%M:%S.%e %l %n[%P] %v%*");
  return f;
}

void setup_logging(const LogConfig& config, std::string_view process_name) {
  // stderr through a buffered file sink: spdlog's stderr sink flushes after every line, a
  // write(2) per request. Lines are flushed every second, at once from warn up, and at exit.
  spdlog::sink_ptr sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>("/dev/stderr");
  } catch (const spdlog::spdlog_ex&) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>(std::string(process_name), std::move(sink));
  logger->set_formatter(make_formatter(config.json));
  logger->set_level(spdlog::level::from_str(config.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void flush_logging() {
  if (auto l = spdlog::default_logger()) l->flush();
}

std::string field(std::string_view value) {
  bool needs_quotes = value.empty() || value.find_first_of(" \"=\t\n") != std::string_view::npos;
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

TraceScope::TraceScope(std::string_view trace_id) noexcept : previous_(current_trace_id) {
  current_trace_id = trace_id;
}

TraceScope::~TraceScope() { current_trace_id = previous_; }

}  // namespace ragd::log
