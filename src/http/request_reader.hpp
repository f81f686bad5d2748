// Reads one HTTP request from a connection under the server's limits, exactly: the
// header's size counted across reads (Beast bounds only the part it has not consumed yet),
// a chunked body's chunk-size lines and trailer fields bounded by the header limit (Beast
// bounds neither), the connection's buffer bounded with them, the body limit, and one
// deadline for the whole request that cancels the reads without closing the socket, so
// that the connection can still answer 408.
//
// Thread-safety: one reader per connection, used on the connection's strand only.
#pragma once

#include "ragd/http/http_config.hpp"
#include "ragd/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

namespace ragd::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

class RequestReader {
 public:
  RequestReader(const boost::asio::any_io_executor& ex, const ServerConfig& config);

  // The connection's wait for a request's first bytes reads into these.
  bool buffered() const { return buffer_.size() > 0; }
  boost::asio::mutable_buffer prepare() { return buffer_.prepare(kReadChunk); }
  void commit(std::size_t n) { buffer_.commit(n); }

  // A new request, due whole by `deadline`: parses what is buffered, without I/O. A request
  // that arrived whole (the usual case) is done here.
  void begin(std::chrono::steady_clock::time_point deadline);
  // More bytes are needed (then read_rest()).
  bool needs_more() const { return !ec_ && !rejected_ && !parser_->is_done(); }
  // Reads the rest until the request is whole, refused, or its deadline passes. `owner`
  // keeps the reader alive while the deadline's timer may still complete.
  boost::asio::awaitable<void> read_rest(std::shared_ptr<void> owner, boost::asio::ip::tcp::socket& socket);

  // The outcome: a request to answer (message()), a refusal to send (rejected()), or a
  // connection to close without a word (closed()).
  const std::optional<Error>& rejected() const { return rejected_; }
  bool closed() const { return closed_; }
  RequestParser::value_type& message() { return parser_->get(); }

 private:
  // Bytes asked of one read.
  static constexpr std::size_t kReadChunk = 16 * 1024;

  void feed();
  void settle();
  Error headers_too_large() const;
  Error chunk_framing_too_long() const;

  std::size_t header_limit_;
  std::uint64_t body_limit_;
  int read_timeout_ms_;
  // Bounded: feed() leaves at most header_limit_ bytes unparsed, and a read adds at most
  // kReadChunk (an unbounded buffer once held whole trailers of any size).
  boost::beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::size_t header_bytes_ = 0;
  boost::beast::error_code ec_;
  std::optional<Error> rejected_;
  bool closed_ = false;

  // The request's deadline: when it passes, the reads are cancelled (not the socket
  // closed, as beast::tcp_stream's own timeout does). `generation` keeps a completion left
  // over from an earlier request from touching a later one.
  boost::asio::steady_timer deadline_;
  std::chrono::steady_clock::time_point due_;
  std::uint64_t generation_ = 0;
  bool expired_ = false;
};

}  // namespace ragd::http
