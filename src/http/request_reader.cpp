#include "request_reader.hpp"
#include "ragd/core/completion_token.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <string>
#include <string_view>

namespace ragd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {


}  // namespace

RequestReader::RequestReader(const asio::any_io_executor& ex, const ServerConfig& config)
    : header_limit_(config.header_limit_bytes),
      body_limit_(config.body_limit_bytes),
      read_timeout_ms_(config.read_timeout_ms),
      buffer_(config.header_limit_bytes + kReadChunk),
      deadline_(ex) {}

void RequestReader::begin(std::chrono::steady_clock::time_point deadline) {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(header_limit_));
  parser_->body_limit(body_limit_);
  header_bytes_ = 0;
  ec_ = {};
  rejected_.reset();
  closed_ = false;
  expired_ = false;
  due_ = deadline;
  feed();
  settle();
}

// Feeds what the buffer holds to the parser, consuming what it parsed. Leaves `ec_` clear
// when the parser needs more bytes and set on a malformed request, as a read would;
// `rejected_` is set when a limit Beast does not keep exactly is passed:
// - the header: Beast bounds only the part of it not yet consumed, so a header fed in
//   pieces passed up to about twice the limit; the bytes are counted here across pieces
//   (the header is parsed alone, not eagerly, so the count stops where the body starts);
// - a chunk-size line (its extensions) and a chunked body's trailer fields: Beast bounds
//   neither, and waits until each is whole in the buffer; they may be as long as the
//   header limit.
void RequestReader::feed() {
  auto& parser = *parser_;
  while (buffer_.size() > 0 && !parser.is_done()) {
    const bool in_header = !parser.is_header_done();
    parser.eager(!in_header);
    const std::size_t used = parser.put(buffer_.data(), ec_);
    buffer_.consume(used);
    if (in_header) {
      header_bytes_ += used;
      // Until the header is done, everything still buffered belongs to it.
      const std::size_t seen = header_bytes_ + (parser.is_header_done() ? 0 : buffer_.size());
      if (seen > header_limit_) {
        rejected_ = headers_too_large();
        return;
      }
    }
    if (ec_ == bhttp::error::need_more) {
      ec_ = {};
      if (!in_header && buffer_.size() > header_limit_) rejected_ = chunk_framing_too_long();
      return;
    }
    if (ec_ || used == 0) return;
  }
}

// Turns what the reads ended with into the outcome the connection acts on.
void RequestReader::settle() {
  if (expired_) {
    rejected_ = make_error(Errc::request_timeout, "the request did not arrive within the read timeout of " +
                                                      std::to_string(read_timeout_ms_) + " ms");
  } else if (!rejected_ && ec_) {
    if (ec_ == asio::error::connection_reset || ec_ == asio::error::operation_aborted) {
      closed_ = true;
    } else if (ec_ == bhttp::error::body_limit) {
      rejected_ = make_error(Errc::payload_too_large, "request body is larger than the server's limit of " +
                                                          std::to_string(body_limit_) + " bytes");
    } else if (ec_ == bhttp::error::header_limit) {
      rejected_ = headers_too_large();
    } else {
      rejected_ = make_error(Errc::bad_request, "malformed HTTP request: " + ec_.message());
    }
  }
}

Error RequestReader::headers_too_large() const {
  return make_error(Errc::headers_too_large, "request headers are larger than the server's limit of " +
                                                 std::to_string(header_limit_) + " bytes");
}

// What the parser waits for in a chunked body: the trailer fields when the last chunk's
// line ("0", maybe extensions) is complete, else a chunk-size line with its extensions.
Error RequestReader::chunk_framing_too_long() const {
  std::string_view rest(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  if (rest.starts_with("\r\n")) rest.remove_prefix(2);  // the end of the previous chunk
  const auto eol = rest.find("\r\n");
  const auto size_end = std::min(rest.find_first_not_of('0'), eol);
  const bool last_chunk = eol != std::string_view::npos && size_end > 0 && (size_end == eol || rest[size_end] == ';');
  if (last_chunk) {
    return make_error(Errc::headers_too_large, "the trailer fields of the chunked body are larger than the server's limit of " +
                                                   std::to_string(header_limit_) + " bytes");
  }
  return make_error(Errc::bad_request, "a chunk-size line (with its extensions) is longer than the server's limit of " +
                                           std::to_string(header_limit_) + " bytes");
}

asio::awaitable<void> RequestReader::read_rest(std::shared_ptr<void> owner, asio::ip::tcp::socket& socket) {
  const std::uint64_t gen = ++generation_;
  deadline_.expires_at(due_);
  deadline_.async_wait([this, owner, gen, &socket](const boost::system::error_code& ec) {
    if (ec || generation_ != gen) return;
    expired_ = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
  });
  auto& parser = *parser_;
  bool continued = false;
  while (!parser.is_done()) {
    if (parser.is_header_done() && !continued) {
      continued = true;
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(kContinue), kNoThrow);
        if (ec) {
          ec_ = ec;
          break;
        }
      }
    }
    // feed() leaves at most header_limit_ bytes unconsumed, so there is room for a read.
    const std::size_t room = std::min(kReadChunk, buffer_.max_size() - buffer_.size());
    if (room == 0) {
      ec_ = bhttp::error::buffer_overflow;
      break;
    }
    auto [ec, n] = co_await socket.async_read_some(buffer_.prepare(room), kNoThrow);
    buffer_.commit(n);
    if (ec) {
      // The peer's EOF in the middle of a request: as Beast reports it.
      ec_ = ec == asio::error::eof ? beast::error_code(bhttp::error::partial_message) : ec;
      break;
    }
    feed();
    if (ec_ || rejected_) break;
  }
  ++generation_;
  deadline_.cancel();
  settle();
}

}  // namespace ragd::http
