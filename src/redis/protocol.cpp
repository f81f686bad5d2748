#include "redis/protocol_impl.hpp"

#include <charconv>

namespace ragd::redis::detail {

namespace {

void append_length(std::string& out, char kind, std::size_t n) {
  char buf[24];
  buf[0] = kind;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<std::size_t>(end - buf));
}

}  // namespace

void append_command(std::string& out, const Command& cmd) {
  // RESP: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument. Written straight into
  // `out` (hiredis's formatter allocates a buffer and prints each length with snprintf, and the
  // result then had to be copied once more).
  std::size_t size = 16;
  for (const auto& arg : cmd) size += arg.size() + 24;
  out.reserve(out.size() + size);
  append_length(out, '*', cmd.size());
  for (const auto& arg : cmd) {
    append_length(out, '$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
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
