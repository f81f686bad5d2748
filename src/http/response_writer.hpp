// Writes a Response to a connection: the status line and header fields written by hand
// (Beast's serializer cost more than the rest of a cached answer's path through the
// server), then the body, in one gather write without copying it.
// Thread-safety: one write at a time per connection, on its strand.
#pragma once

#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <string>

namespace ragd::http {

// The status line and header fields, ending with the blank line.
void append_response_head(std::string& out, const Response& r, bool keep_alive, unsigned version,
                          const std::string& request_id);

// Errors are left to the next read on the connection to find.
boost::asio::awaitable<void> write_response(boost::beast::tcp_stream& stream, const Response& r, bool keep_alive,
                                            unsigned version, const std::string& request_id,
                                            std::chrono::milliseconds timeout);

}  // namespace ragd::http
