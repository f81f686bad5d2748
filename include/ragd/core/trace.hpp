// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header that
// ties the log lines of one request together across the gateway, the queue and a worker.
// The gateway takes a valid incoming traceparent (or starts a trace when there is none or
// it is malformed), answers with its own span of that trace, and the job carries the
// traceparent to the worker. Pure functions and plain values: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ragd {

struct TraceContext {
  std::string trace_id;   // 32 lowercase hex digits, not all zero
  std::string span_id;    // 16 lowercase hex digits, not all zero (the spec's parent-id)
  std::uint8_t flags = 0; // bit 0: sampled

  // "00-<trace_id>-<span_id>-<flags>", or empty when there is no trace.
  std::string traceparent() const;
  bool empty() const { return trace_id.empty(); }
};

// Parses a traceparent header value. nullopt when it breaks the spec: version "ff", a
// version-00 value of another length than 55, upper-case or non-hex digits, an all-zero
// trace id or parent id, or a later version whose first 55 characters do not parse (a
// later version may append fields after a '-').
std::optional<TraceContext> parse_traceparent(std::string_view value);

// A new trace: random trace id and span id, flags 0 (ragd makes no sampling decision).
TraceContext new_trace();

// The next hop's span in the same trace: same trace id and flags, a new span id.
TraceContext child_span(const TraceContext& parent);

// The trace to continue for an incoming request: a child of `incoming` when it parses,
// a new trace otherwise (absent or malformed headers are replaced, never passed on).
TraceContext continue_trace(std::string_view incoming);

}  // namespace ragd
