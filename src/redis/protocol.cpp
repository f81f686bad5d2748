#include "redis/protocol_impl.hpp"

#include <cstdlib>
#include <vector>

namespace ragd::redis::detail {

bool append_command(std::string& out, const Command& cmd) {
  // Commands rarely have more than a handful of arguments; keep their pointers on the stack.
  constexpr std::size_t kInline = 16;
  const char* argv_inline[kInline];
  std::size_t lens_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> lens_heap;
  const char** argv = argv_inline;
  std::size_t* lens = lens_inline;
  if (cmd.size() > kInline) {
    argv_heap.resize(cmd.size());
    lens_heap.resize(cmd.size());
    argv = argv_heap.data();
    lens = lens_heap.data();
  }
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    argv[i] = cmd[i].data();
    lens[i] = cmd[i].size();
  }
  char* encoded = nullptr;
  int n = redisFormatCommandArgv(&encoded, static_cast<int>(cmd.size()), argv, lens);
  if (n < 0 || encoded == nullptr) return false;
  out.append(encoded, static_cast<std::size_t>(n));
  redisFreeCommand(encoded);
  return true;
}

Reply convert_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.kind = Reply::Kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = Reply::Kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = Reply::Kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = Reply::Kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = Reply::Kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(convert_reply(r->element[i]));
      }
      break;
    default:
      out.kind = Reply::Kind::nil;
      break;
  }
  return out;
}

ReplyReader::Status ReplyReader::next(Reply& out) {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return Status::protocol_error;
  if (raw == nullptr) return Status::need_more;
  out = convert_reply(static_cast<const redisReply*>(raw));
  freeReplyObject(raw);
  return Status::reply;
}

}  // namespace ragd::redis::detail
