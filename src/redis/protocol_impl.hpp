// RESP glue between hiredis and our types: encoding commands and turning hiredis's reply
// trees into ragd::redis::Reply. hiredis stays behind this header;
// it never reaches a public one. Pure functions plus a small owning wrapper; not shared
// between threads.
#pragma once

#include "ragd/redis/client.hpp"

#include <hiredis/hiredis.h>

#include <string>

namespace ragd::redis::detail {

// Appends the RESP encoding of `cmd` to `out`.
void append_command(std::string& out, const Command& cmd);

// Deep-copies a hiredis reply tree.
Reply convert_reply(const redisReply* r);

// Owns one redisReader. The reader buffers partial replies, so a connection uses a fresh one
// after every reconnect.
class ReplyReader {
 public:
  ReplyReader() : reader_(redisReaderCreate()) {}
  ~ReplyReader() { redisReaderFree(reader_); }
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  void reset() {
    redisReaderFree(reader_);
    reader_ = redisReaderCreate();
  }
  bool feed(const char* data, std::size_t n) {
    return redisReaderFeed(reader_, data, n) == REDIS_OK;
  }
  enum class Status { reply, need_more, protocol_error };
  // On Status::reply, `out` holds the next complete reply.
  Status next(Reply& out);
  const char* error() const { return reader_->errstr; }

 private:
  redisReader* reader_;
};

}  // namespace ragd::redis::detail
