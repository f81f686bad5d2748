// The RESP reader (hiredis's parser building ragd::redis::Reply trees) on arbitrary bytes
// from the server side of the connection, fed whole and fed in two pieces: both must read
// the same replies, and a protocol error must be reported, not crash.
#include "redis/protocol_impl.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

using ragd::redis::Reply;
using ragd::redis::detail::ReplyReader;

struct Outcome {
  std::vector<std::string> replies;  // a description of each complete reply
  bool error = false;
};

std::string describe(const Reply& r) {
  std::string out = std::to_string(static_cast<int>(r.kind)) + ":" + std::to_string(r.integer) + ":" + r.str;
  out += "[" + std::to_string(r.elements.size()) + "]";
  for (const auto& e : r.elements) out += describe(e) + ",";
  return out;
}

void drain(ReplyReader& reader, Outcome& out) {
  while (!out.error) {
    Reply r;
    auto s = reader.next(r);
    if (s == ReplyReader::Status::reply) {
      out.replies.push_back(describe(r));
    } else {
      out.error = s == ReplyReader::Status::protocol_error;
      return;
    }
  }
}

Outcome read_in(const char* data, std::size_t size, std::size_t split) {
  ReplyReader reader;
  Outcome out;
  if (!reader.feed(data, split)) return {{}, true};
  drain(reader, out);
  if (out.error) return out;
  if (!reader.feed(data + split, size - split)) return {out.replies, true};
  drain(reader, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;
  Outcome whole = read_in(bytes, n, n);
  Outcome pieces = read_in(bytes, n, std::min(split, n));
  // hiredis may notice an error only when the bytes after it arrive; the replies read
  // before the error must match either way.
  if (!whole.error && !pieces.error && whole.replies != pieces.replies) __builtin_trap();
  return 0;
}
