#include "ragd/core/completion_token.hpp"

#include "ragbench/metrics_scrape.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace ragd::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

asio::awaitable<std::optional<std::string>> scrape_metrics(const TargetUrl& url, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  asio::ip::tcp::resolver resolver(ex);
  auto [rec, results] =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), kNoThrow);
  if (rec) co_return std::nullopt;
  auto [cec, ep] = co_await stream.async_connect(results, kNoThrow);
  if (cec) co_return std::nullopt;
  http::request<http::empty_body> req{http::verb::get, url.path.empty() ? "/metrics" : url.path, 11};
  req.set(http::field::host, url.host_header());
  req.set(http::field::user_agent, "ragbench");
  auto [wec, wn] = co_await http::async_write(stream, req, kNoThrow);
  if (wec) co_return std::nullopt;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  auto [rdec, rn] = co_await http::async_read(stream, buffer, res, kNoThrow);
  if (rdec || res.result_int() != 200) co_return std::nullopt;
  co_return std::move(res.body());
}

std::optional<std::string> fetch_metrics(const TargetUrl& url, std::chrono::milliseconds timeout) {
  asio::io_context io;
  auto result = asio::co_spawn(io, scrape_metrics(url, timeout), asio::use_future);
  io.run();
  return result.get();
}

}  // namespace ragd::bench
