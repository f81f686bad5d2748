// A client of streamed HTTP responses for integration tests: one POST over a plain loopback
// socket (HTTP/1.1, or HTTP/1.0 when asked), the response head, then the body as it comes
// (chunked or close-delimited) split into server-sent events. Blocking with a per-read timeout; the socket closes with the
// object (or close(), which is how a test hangs up mid-stream).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace ragd::test {

struct SseEvent {
  std::string event;  // "message" when the event names none
  std::string data;   // the data lines joined by '\n'
};

class SseClient {
 public:
  // `receive_buffer`: when positive, the socket's SO_RCVBUF (a slow reader's small window).
  // `version`: the request line's protocol, "HTTP/1.1" or "HTTP/1.0".
  SseClient(int port, const std::string& path, const std::string& body,
            const std::map<std::string, std::string>& headers = {}, int receive_buffer = 0,
            const std::string& version = "HTTP/1.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) throw std::runtime_error("connect failed");
    std::string req = "POST " + path + " " + version + "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      throw std::runtime_error("send failed");
    }
  }
  ~SseClient() { close(); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Reads the status line and header fields; false when they did not come within `limit`.
  bool read_head(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    std::size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(until)) return false;
    }
    std::string head = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    status_line = head.substr(0, head.find("\r\n"));
    status = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      std::size_t next = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      pos = next;
    }
    auto te = headers.find("transfer-encoding");
    chunked_ = te != headers.end() && te->second == "chunked";
    return true;
  }

  // The next event; nullopt when the body ended (or nothing came within `limit`: see ended()).
  std::optional<SseEvent> next_event(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      decode();
      auto end = body_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = body_.substr(0, end);
        body_.erase(0, end + 2);
        SseEvent e{"message", ""};
        bool first_data = true;
        std::size_t pos = 0;
        while (pos <= block.size()) {
          std::size_t nl = block.find('\n', pos);
          std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
          if (line.starts_with("event: ")) e.event = line.substr(7);
          if (line.starts_with("data: ")) {
            if (!first_data) e.data += '\n';
            e.data += line.substr(6);
            first_data = false;
          }
          if (nl == std::string::npos) break;
          pos = nl + 1;
        }
        return e;
      }
      if (body_ended_ || !fill(until)) return std::nullopt;
    }
  }

  // The body's end arrived (the last chunk, or the server closed the connection).
  bool ended() const { return body_ended_; }
  // The whole body seen so far that is not yet an event.
  const std::string& rest() const { return body_; }
  // Every byte of the body decoded so far, events included (chunk framing removed).
  const std::string& transcript() const { return transcript_; }

  std::string status_line;  // e.g. "HTTP/1.0 200 OK"
  int status = 0;
  std::map<std::string, std::string> headers;

 private:
  // Reads what is there within the time left; false on timeout or when the peer closed.
  bool fill(std::chrono::steady_clock::time_point until) {
    if (fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    timeval tv{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n == 0) closed_ = true;
      if (closed_ && !chunked_) body_ended_ = true;
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // Moves whole chunks (or, close-delimited, everything) from raw_ to body_.
  void decode() {
    if (!chunked_) {
      body_ += raw_;
      transcript_ += raw_;
      raw_.clear();
      return;
    }
    for (;;) {
      auto crlf = raw_.find("\r\n");
      if (crlf == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, crlf), nullptr, 16);
      if (raw_.size() < crlf + 2 + size + 2) return;
      if (size == 0) {
        body_ended_ = true;
        raw_.clear();
        return;
      }
      body_.append(raw_, crlf + 2, size);
      transcript_.append(raw_, crlf + 2, size);
      raw_.erase(0, crlf + 2 + size + 2);
    }
  }

  int fd_ = -1;
  std::string raw_;   // bytes read, not yet decoded
  std::string body_;  // decoded body, not yet split into events
  std::string transcript_;  // the whole decoded body
  bool chunked_ = false;
  bool closed_ = false;
  bool body_ended_ = false;
};

}  // namespace ragd::test
