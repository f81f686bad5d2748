// RESP glue between hiredis and our types: encoding commands and reading replies into
// ragd::redis::Reply. hiredis stays behind this header;
// it never reaches a public one. Pure functions plus a small owning wrapper; not shared
// between threads.
#pragma once

#include "ragd/redis/client.hpp"

#include <hiredis/hiredis.h>

#include <string>

namespace ragd::redis::detail {

// Appends the RESP encoding of `cmd` to `out`.
void append_command(std::string& out, const Command& cmd);

// Owns one redisReader, which builds ragd::redis::Reply trees itself (its reply-object
// functions), so a reply's strings are copied once out of the reader's buffer, not into
// hiredis's reply objects and then again into ours. The reader buffers partial replies, so a
// connection uses a fresh one after every reconnect.
class ReplyReader {
 public:
  ReplyReader() : reader_(create()) {}
  ~ReplyReader() { redisReaderFree(reader_); }
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  void reset() {
    redisReaderFree(reader_);
    reader_ = create();
  }
  bool feed(const char* data, std::size_t n) {
    return redisReaderFeed(reader_, data, n) == REDIS_OK;
  }
  enum class Status { reply, need_more, protocol_error };
  // On Status::reply, `out` holds the next complete reply.
  Status next(Reply& out);
  const char* error() const { return reader_->errstr; }

 private:
  static redisReader* create();

  redisReader* reader_;
};

}  // namespace ragd::redis::detail
