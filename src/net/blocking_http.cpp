#include "ragd/net/blocking_http.hpp"

#include "ragd/core/ascii.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ragd::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

// Responses as large as a document listing or /metrics of a big deployment.
constexpr std::size_t kBodyLimit = 256u * 1024 * 1024;

}  // namespace

Result<BlockingResponse> blocking_request(const BlockingRequest& request) {
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(request.timeout);
    stream.connect(resolver.resolve(request.host, request.port));
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(request.method), request.target, 11};
    req.set(bhttp::field::host, request.host);
    bool has_content_type = false;
    for (const auto& [name, value] : request.headers) {
      req.set(name, value);
      has_content_type = has_content_type || bhttp::string_to_field(name) == bhttp::field::content_type;
    }
    if (!request.body.empty() && !has_content_type) req.set(bhttp::field::content_type, "application/json");
    req.body() = request.body;
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kBodyLimit);
    bhttp::read(stream, buffer, parser);
    auto& res = parser.get();
    BlockingResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (auto& c : name) c = ascii_lower(c);
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  } catch (const std::exception& e) {
    return make_error(Errc::unavailable, "cannot reach " + request.host + ":" + request.port + ": " + e.what());
  }
}

}  // namespace ragd::net
