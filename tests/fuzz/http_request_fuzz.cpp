// One HTTP request as bytes through what the server does with it, in process: Beast's
// request parser with the server's default header and body limits (fed in two pieces, as
// reads deliver them), the conversion to ragd::http::Request (the connection loop's own
// Dispatcher::make_request: header names, request id, traceparent), the API-key check, the router (the gateway's public routes) and the body validation
// of the matched route. Anything may be refused; nothing may crash, hang or read out of
// bounds.
#include "ragd/http/gateway_config.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/http/api.hpp"
#include "ragd/http/auth.hpp"
#include "ragd/http/message.hpp"
#include "ragd/http/router.hpp"
#include "ragd/http/chat_api.hpp"
#include "ragd/retrieval/document_validation.hpp"
#include "http/dispatcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <string>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using ragd::http::Request;
using ragd::http::Response;

struct Gateway {
  ragd::ServerConfig server;
  ragd::QueryConfig query;
  ragd::RetrievalConfig retrieval;
  ragd::AuthConfig auth_config = [] {
    ragd::AuthConfig a;
    ragd::ApiKeyConfig k;
    k.sha256 = ragd::sha256_hex("fuzz-key");
    k.tenant = "fuzz";
    a.api_keys.push_back(k);
    return a;
  }();
  ragd::http::ApiKeyAuth auth{auth_config, nullptr};
  ragd::http::Router router;

  Gateway() {
    auto respond = [](int status) { return Response::json(status, "{}"); };
    router.add("POST", "/query", [this, respond](Request req) -> asio::awaitable<Response> {
      auto q = ragd::http::parse_query_body(req.body, query);
      co_return respond(q ? 200 : 400);
    });
    router.add("POST", "/v1/documents", [this, respond](Request req) -> asio::awaitable<Response> {
      auto d = ragd::http::parse_documents_body(req.body, retrieval);
      if (!d) co_return respond(400);
      auto valid = ragd::retrieval::validate_documents(*d, retrieval, retrieval.max_documents_per_request);
      co_return respond(valid ? 200 : 400);
    });
    router.add("POST", "/v1/chat/completions", [this, respond](Request req) -> asio::awaitable<Response> {
      auto c = ragd::http::parse_chat_body(req.body, query);
      co_return respond(c ? 200 : 400);
    });
    router.add("GET", "/v1/documents", [respond](Request req) -> asio::awaitable<Response> {
      auto page = ragd::http::parse_listing_query(req.query);
      if (page && (page->limit < 1 || page->limit > ragd::http::kMaxListingLimit)) __builtin_trap();
      co_return respond(page ? 200 : 400);
    });
    router.add("GET", "/v1/documents/{id}", [respond](Request req) -> asio::awaitable<Response> {
      co_return respond(ragd::retrieval::validate_document_id(req.path_params.at(0)) ? 200 : 400);
    });
    router.add("DELETE", "/v1/documents/{id}", [respond](Request req) -> asio::awaitable<Response> {
      co_return respond(ragd::retrieval::validate_document_id(req.path_params.at(0)) ? 200 : 400);
    });
    router.add("GET", "/healthz", [respond](Request) -> asio::awaitable<Response> { co_return respond(200); });
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Gateway gw;
  if (size == 0) return 0;
  // The first byte chooses where the stream splits into two reads.
  const std::size_t split = data[0] % (size);
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(gw.server.header_limit_bytes));
  parser.body_limit(gw.server.body_limit_bytes);
  std::string buffer;
  boost::beast::error_code ec;
  for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, std::min(split, n)},
                          std::pair<std::size_t, std::size_t>{std::min(split, n), n}}) {
    buffer.append(bytes + from, to - from);
    while (!buffer.empty() && !parser.is_done() && !ec) {
      // As RequestReader::feed: the header alone, then the body eagerly. Beast 1.81 asserts
      // in parse_chunk_header when one eager put() spans the header and a chunk-size line
      // ending in a bare LF (the server never feeds it so).
      parser.eager(parser.is_header_done());
      // What put() used is gone even when it asks for more (a chunk's data before a chunk
      // header not yet whole): as RequestReader::feed, consumed before need_more is looked at.
      std::size_t used = parser.put(asio::buffer(buffer), ec);
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (used == 0) break;
    }
    if (ec) return 0;
  }
  // A request that has not ended is never handled: the server reads on until its read
  // timeout or the client's close (and put_eof() is only for a message whose end is the
  // close, which a request never is; called before any byte, it asserts).
  if (!parser.is_done()) return 0;

  Request req = ragd::http::Dispatcher::make_request(parser.get(), "127.0.0.1");

  (void)gw.auth.resolve_now(ragd::sha256_hex(ragd::http::presented_api_key(req)));
  auto m = gw.router.match(req.method, req.path);
  if (!m.handler) {
    // 400: a path parameter that does not percent-decode.
    if (m.status != 400 && m.status != 404 && m.status != 405) __builtin_trap();
    if (ragd::http::Dispatcher::unrouted(m, req).status != m.status) __builtin_trap();
    return 0;
  }
  req.path_params = std::move(m.params);
  asio::io_context io;
  asio::co_spawn(io, (*m.handler)(std::move(req)), asio::detached);
  io.run();
  return 0;
}
