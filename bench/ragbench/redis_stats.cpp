#include "ragbench/redis_stats.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <charconv>

namespace ragd::bench {

namespace asio = boost::asio;

std::map<std::string, std::uint64_t> parse_commandstats(std::string_view info) {
  std::map<std::string, std::uint64_t> out;
  constexpr std::string_view kPrefix = "cmdstat_";
  constexpr std::string_view kCalls = ":calls=";
  std::size_t pos = 0;
  while (pos < info.size()) {
    std::size_t end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(kPrefix)) continue;
    const auto colon = line.find(kCalls);
    if (colon == std::string_view::npos) continue;
    std::uint64_t calls = 0;
    const char* first = line.data() + colon + kCalls.size();
    const auto [ptr, ec] = std::from_chars(first, line.data() + line.size(), calls);
    if (ec != std::errc() || ptr == first) continue;
    out[std::string(line.substr(kPrefix.size(), colon - kPrefix.size()))] = calls;
  }
  return out;
}

std::map<std::string, std::uint64_t> commandstats_delta(const std::map<std::string, std::uint64_t>& before,
                                                        const std::map<std::string, std::uint64_t>& after) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [name, calls] : after) {
    if (name == "info") continue;
    const auto b = before.find(name);
    const std::uint64_t was = b == before.end() ? 0 : b->second;
    if (calls > was) out[name] = calls - was;
  }
  return out;
}

std::optional<std::map<std::string, std::uint64_t>> read_commandstats(const std::string& host, unsigned short port) {
  try {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address(host), port});
    asio::write(socket, asio::buffer(std::string_view("INFO commandstats\r\n")));
    std::string buf;
    // A bulk string: "$<len>\r\n<len bytes>\r\n".
    const std::size_t header = asio::read_until(socket, asio::dynamic_buffer(buf), "\r\n");
    if (buf.empty() || buf[0] != '$') return std::nullopt;
    std::size_t len = 0;
    const auto [ptr, ec] = std::from_chars(buf.data() + 1, buf.data() + header - 2, len);
    if (ec != std::errc()) return std::nullopt;
    if (buf.size() < header + len) {
      const std::size_t have = buf.size();
      buf.resize(header + len);
      asio::read(socket, asio::buffer(buf.data() + have, header + len - have));
    }
    return parse_commandstats(std::string_view(buf).substr(header, len));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace ragd::bench
