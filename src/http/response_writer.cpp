#include "response_writer.hpp"
#include "ragd/core/completion_token.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <charconv>
#include <string_view>

namespace ragd::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

const TraceContext kNoTrace;

namespace {

// The status line and the fields before the body's length.
void append_head_fields(std::string& out, const Response& r, unsigned version, const std::string& request_id,
                        const TraceContext& trace) {
  const auto status = static_cast<unsigned>(r.status);
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: ragd/" RAGD_VERSION "\r\nContent-Type: ";
  out += r.content_type;
  if (!request_id.empty()) {
    out += "\r\nX-Request-Id: ";
    out += request_id;
  }
  if (!trace.empty()) {
    out += "\r\nTraceparent: ";
    out += trace.traceparent();
    out += "\r\nX-Trace-Id: ";
    out += trace.trace_id;
  }
  for (const auto& [k, v] : r.headers) {
    out += "\r\n";
    out += k;
    out += ": ";
    out += v;
  }
}

void append_connection(std::string& out, bool keep_alive, unsigned version) {
  if (!keep_alive) {
    out += "\r\nConnection: close";
  } else if (version == 10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
}

void append_chunk(std::string& out, std::string_view bytes) {
  char size[20];
  const auto end = std::to_chars(size, size + sizeof(size), bytes.size(), 16).ptr;
  out.append(size, end);
  out += "\r\n";
  out.append(bytes);
  out += "\r\n";
}

}  // namespace

void append_response_head(std::string& out, const Response& r, bool keep_alive, unsigned version,
                          const std::string& request_id, const TraceContext& trace) {
  append_head_fields(out, r, version, request_id, trace);
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  append_connection(out, keep_alive, version);
}

void append_stream_head(std::string& out, const std::string& content_type, bool keep_alive, unsigned version,
                        const std::string& request_id, const TraceContext& trace) {
  Response r;
  r.content_type = content_type;
  // Proxies must neither cache nor buffer events.
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  append_head_fields(out, r, version, request_id, trace);
  const bool chunked = keep_alive && version != 10;
  if (chunked) out += "\r\nTransfer-Encoding: chunked";
  append_connection(out, chunked, version);
}

asio::awaitable<void> write_response(boost::beast::tcp_stream& stream, const Response& r, bool keep_alive,
                                     unsigned version, const std::string& request_id,
                                     std::chrono::milliseconds timeout, const TraceContext& trace) {
  std::string head;
  head.reserve(288 + r.content_type.size() + request_id.size());
  append_response_head(head, r, keep_alive, version, request_id, trace);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(r.body)};
  stream.expires_after(timeout);
  co_await asio::async_write(stream, buffers, kNoThrow);
}


asio::awaitable<StreamSent> write_stream(boost::beast::tcp_stream& stream, ResponseStream& body, bool keep_alive,
                                         unsigned version, const std::string& request_id,
                                         std::chrono::milliseconds timeout, const TraceContext& trace) {
  StreamSent out;
  const bool chunked = keep_alive && version != 10;
  std::string frame;
  // A cut stream abandons the write blocked on the slow client. The flag tells a cut that
  // comes after this function returned to leave the connection alone (same strand).
  auto writing = std::make_shared<bool>(true);
  body.on_cut([writing, &stream] {
    if (*writing) stream.cancel();
  });
  struct Done {
    std::shared_ptr<bool> writing;
    ~Done() { *writing = false; }
  } done{writing};
  try {
    for (;;) {
      auto n = co_await body.next();
      if (n.response) {
        out.response = std::move(n.response);
        out.complete = true;
        co_return out;
      }
      if (n.overflowed) co_return out;
      frame.clear();
      if (!out.head_sent) {
        boost::system::error_code ignored;
        stream.socket().set_option(asio::socket_base::send_buffer_size(static_cast<int>(body.max_buffered())), ignored);
        append_stream_head(frame, body.content_type(), keep_alive, version, request_id, trace);
        out.head_sent = true;
      }
      if (!n.bytes.empty()) {
        if (chunked) {
          append_chunk(frame, n.bytes);
        } else {
          frame += n.bytes;
        }
      }
      if (n.ended && chunked) frame += "0\r\n\r\n";
      stream.expires_after(timeout);
      auto [ec, written] = co_await asio::async_write(stream, asio::buffer(frame), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return out;
      if (n.ended) {
        out.complete = true;
        co_return out;
      }
    }
  } catch (const boost::system::system_error&) {
    // The connection's coroutine was cancelled (the client hung up, the route's backstop).
  }
  co_return out;
}

}  // namespace ragd::http
