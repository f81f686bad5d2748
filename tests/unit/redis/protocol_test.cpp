// RESP without a socket: the bytes a command is sent as, and replies read back from bytes
// that arrive whole, in pieces, or wrong.
#include "redis/protocol_impl.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace ragd::redis::detail {
namespace {

using namespace std::string_literals;

TEST(RespEncoding, WritesTheArgumentCountThenEachArgumentWithItsLength) {
  std::string out = "kept";
  append_command(out, Command{"SET", "k", "a\r\nb\0c"s, ""});
  EXPECT_EQ(out, "kept*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n$0\r\n\r\n"s);
}

TEST(ReplyReader, ReadsEveryKindNestedAndInOrder) {
  ReplyReader reader;
  const std::string bytes = "+OK\r\n-ERR no\r\n:-42\r\n$-1\r\n*3\r\n$5\r\nhello\r\n*1\r\n:7\r\n*-1\r\n";
  ASSERT_TRUE(reader.feed(bytes.data(), bytes.size()));
  Reply r;
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  EXPECT_EQ(r.kind, Reply::Kind::status);
  EXPECT_EQ(r.str, "OK");
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  EXPECT_TRUE(r.is_error());
  EXPECT_EQ(r.str, "ERR no");
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  EXPECT_EQ(r.kind, Reply::Kind::integer);
  EXPECT_EQ(r.integer, -42);
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  EXPECT_TRUE(r.is_nil());
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.elements.size(), 3u);
  EXPECT_EQ(r.elements[0].str, "hello");
  ASSERT_TRUE(r.elements[1].is_array());
  ASSERT_EQ(r.elements[1].elements.size(), 1u);
  EXPECT_EQ(r.elements[1].elements[0].integer, 7);
  EXPECT_TRUE(r.elements[2].is_nil());
  EXPECT_EQ(reader.next(r), ReplyReader::Status::need_more);
}

TEST(ReplyReader, AReplySplitAtEveryByteIsReadOnceWhole) {
  const std::string bytes = "*2\r\n$3\r\nabc\r\n:12\r\n";
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    ReplyReader reader;
    Reply r;
    ASSERT_TRUE(reader.feed(bytes.data(), cut));
    ASSERT_EQ(reader.next(r), ReplyReader::Status::need_more) << "cut at " << cut;
    ASSERT_TRUE(reader.feed(bytes.data() + cut, bytes.size() - cut));
    ASSERT_EQ(reader.next(r), ReplyReader::Status::reply) << "cut at " << cut;
    ASSERT_EQ(r.elements.size(), 2u);
    EXPECT_EQ(r.elements[0].str, "abc");
    EXPECT_EQ(r.elements[1].integer, 12);
  }
}

TEST(ReplyReader, BytesThatAreNotRespAreAProtocolErrorUntilReset) {
  ReplyReader reader;
  Reply r;
  ASSERT_TRUE(reader.feed("?what\r\n", 7));
  EXPECT_EQ(reader.next(r), ReplyReader::Status::protocol_error);
  EXPECT_NE(std::string(reader.error()), "");
  reader.reset();
  ASSERT_TRUE(reader.feed(":1\r\n", 4));
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  EXPECT_EQ(r.integer, 1);
}

TEST(ReplyReader, AnArrayHeaderAllocatesForTheElementsThatArriveNotForItsClaim) {
  // A claim of 2^31-1 elements with three of them sent: before, the reader allocated every
  // claimed element at the header (about 150 GB) and failed inside hiredis.
  ReplyReader reader;
  const std::string bytes = "*2147483647\r\n:1\r\n:2\r\n$1\r\nx\r\n";
  ASSERT_TRUE(reader.feed(bytes.data(), bytes.size()));
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Status::need_more);
}

TEST(ReplyReader, ReadsArraysLongerThanTheirReservedRoomWithNestedArrays) {
  // 3000 elements (past the room reserved at the header), each an array of an integer and a
  // string, so nested values are written while their parent grows.
  std::string bytes = "*3000\r\n";
  for (int i = 0; i < 3000; ++i) {
    const std::string s = "v" + std::to_string(i);
    bytes += "*2\r\n:" + std::to_string(i) + "\r\n$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }
  bytes += "+OK\r\n";
  ReplyReader reader;
  // Fed in small pieces, as reads deliver them.
  for (std::size_t at = 0; at < bytes.size(); at += 7) {
    ASSERT_TRUE(reader.feed(bytes.data() + at, std::min<std::size_t>(7, bytes.size() - at)));
  }
  Reply r;
  ASSERT_EQ(reader.next(r), ReplyReader::Status::reply);
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.elements.size(), 3000u);
  for (int i = 0; i < 3000; ++i) {
    const Reply& e = r.elements[static_cast<std::size_t>(i)];
    ASSERT_TRUE(e.is_array());
    ASSERT_EQ(e.elements.size(), 2u);
    EXPECT_EQ(e.elements[0].integer, i);
    EXPECT_EQ(e.elements[1].str, "v" + std::to_string(i));
  }
  Reply ok;
  ASSERT_EQ(reader.next(ok), ReplyReader::Status::reply);
  EXPECT_EQ(ok.kind, Reply::Kind::status);
  EXPECT_EQ(ok.str, "OK");
}

}  // namespace
}  // namespace ragd::redis::detail
