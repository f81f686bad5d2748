#include "redis/protocol_impl.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

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

namespace {

// hiredis's reply-object functions, building our Reply tree in place. A nested value lives
// in its parent's `elements`; only a root is allocated on its own, and only a root is ever
// freed (by next(), or by the reader when it fails or is freed with a reply in progress).
// An array's elements are appended as they arrive, not allocated for the length its header
// claims: a header of "*2000000000" followed by nothing would otherwise allocate 2e9 Replies
// at once. Appending moves the earlier elements, which is safe: the reader holds pointers
// only to the arrays on the path to the value being read, and an array grows only when its
// next element begins, after the previous one (and everything inside it) is complete.
Reply* slot_for(const redisReadTask* task, Reply::Kind kind) {
  Reply* r = nullptr;
  if (task->parent != nullptr) {
    auto& siblings = static_cast<Reply*>(task->parent->obj)->elements;
    const auto idx = static_cast<std::size_t>(task->idx);
    if (siblings.size() <= idx) siblings.resize(idx + 1);
    r = &siblings[idx];
  } else {
    r = new Reply;
  }
  r->kind = kind;
  return r;
}

// Room reserved up front for an array's elements, whatever its header claims.
constexpr int kReservedElements = 1024;

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  Reply::Kind kind = Reply::Kind::string;
  if (task->type == REDIS_REPLY_STATUS) kind = Reply::Kind::status;
  if (task->type == REDIS_REPLY_ERROR) kind = Reply::Kind::error;
  Reply* r = slot_for(task, kind);
  r->str.assign(str, len);
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  Reply* r = slot_for(task, Reply::Kind::array);
  r->elements.reserve(static_cast<std::size_t>(std::clamp(elements, 0, kReservedElements)));
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  Reply* r = slot_for(task, Reply::Kind::integer);
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) { return slot_for(task, Reply::Kind::nil); }

void free_root(void* reply) { delete static_cast<Reply*>(reply); }

redisReplyObjectFunctions reply_functions = {create_string, create_array, create_integer, create_nil, free_root};

// The reader keeps its buffer between replies up to this many unused bytes (hiredis's default,
// 16 KiB, dropped and regrew it for every batch of jobs or replies larger than that).
constexpr std::size_t kKeptBuffer = 1 << 20;

}  // namespace

redisReader* ReplyReader::create() {
  redisReader* r = redisReaderCreateWithFunctions(&reply_functions);
  r->maxbuf = kKeptBuffer;
  return r;
}

ReplyReader::Status ReplyReader::next(Reply& out) {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return Status::protocol_error;
  if (raw == nullptr) return Status::need_more;
  std::unique_ptr<Reply> root(static_cast<Reply*>(raw));
  out = std::move(*root);
  return Status::reply;
}

}  // namespace ragd::redis::detail
