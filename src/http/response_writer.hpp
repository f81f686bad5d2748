// Writes a Response to a connection: the status line and header fields written by hand
// (Beast's serializer cost more than the rest of a cached answer's path through the
// server), then the body, in one gather write without copying it.
// Thread-safety: one write at a time per connection, on its strand.
#pragma once

#include "ragd/http/message.hpp"
#include "ragd/http/response_stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace ragd::http {

// The status line and header fields, ending with the blank line. A non-empty trace adds
// Traceparent (this gateway's span) and X-Trace-Id.
void append_response_head(std::string& out, const Response& r, bool keep_alive, unsigned version,
                          const std::string& request_id, const TraceContext& trace);

// The head of a streamed 200 (no length: chunked for HTTP/1.1 when kept alive, else ended
// by closing the connection).
void append_stream_head(std::string& out, const std::string& content_type, bool keep_alive, unsigned version,
                        const std::string& request_id, const TraceContext& trace);

// Errors are left to the next read on the connection to find. `trace` is referenced
// until the write completes (a named object: GCC 12 destroys a class-type temporary
// argument of a coroutine twice).
boost::asio::awaitable<void> write_response(boost::beast::tcp_stream& stream, const Response& r, bool keep_alive,
                                            unsigned version, const std::string& request_id,
                                            std::chrono::milliseconds timeout, const TraceContext& trace);

// The trace of responses written before a request was parsed.
extern const TraceContext kNoTrace;

struct StreamSent {
  bool head_sent = false;             // the 200 went out: nothing else may be written
  bool complete = false;              // the whole body went out (or `response` stands instead)
  std::optional<Response> response;   // the producer answered without a stream: not yet written
};
// Writes `body` as it comes until it ends, is cut (a slow reader), a write fails or times out
// (`timeout` per write), or the connection's coroutine is cancelled (a hang-up).
boost::asio::awaitable<StreamSent> write_stream(boost::beast::tcp_stream& stream, ResponseStream& body,
                                                bool keep_alive, unsigned version, const std::string& request_id,
                                                std::chrono::milliseconds timeout, const TraceContext& trace);

}  // namespace ragd::http
