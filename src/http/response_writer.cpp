#include "response_writer.hpp"
#include "ragd/core/completion_token.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>

#include <array>

namespace ragd::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

void append_response_head(std::string& out, const Response& r, bool keep_alive, unsigned version,
                          const std::string& request_id) {
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
  for (const auto& [k, v] : r.headers) {
    out += "\r\n";
    out += k;
    out += ": ";
    out += v;
  }
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  if (!keep_alive) {
    out += "\r\nConnection: close";
  } else if (version == 10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
}

asio::awaitable<void> write_response(boost::beast::tcp_stream& stream, const Response& r, bool keep_alive,
                                     unsigned version, const std::string& request_id,
                                     std::chrono::milliseconds timeout) {
  std::string head;
  head.reserve(192 + r.content_type.size() + request_id.size());
  append_response_head(head, r, keep_alive, version, request_id);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(r.body)};
  stream.expires_after(timeout);
  co_await asio::async_write(stream, buffers, kNoThrow);
}

}  // namespace ragd::http
