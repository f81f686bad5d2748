// The Redis client's pure parts in reply_url.cpp: redis:// and unix:// URLs, and conversions of
// replies. The client against a real redis-server is tests/integration/redis_client_test.cpp.
#include "ragd/redis/client.hpp"

#include <gtest/gtest.h>

namespace ragd::redis {
namespace {

TEST(RedisUrl, ParsesHostPortDbAndPassword) {
  auto ep = parse_url("redis://:s3cret@cache.local:6380/2");
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->host, "cache.local");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->db, 2);
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_TRUE(ep->username.empty());
  EXPECT_TRUE(ep->unix_path.empty());
}

TEST(RedisUrl, DefaultsPortAndDb) {
  auto ep = parse_url("redis://127.0.0.1");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->db, 0);
  EXPECT_TRUE(ep->password.empty());
}

TEST(RedisUrl, ParsesUserPercentEncodedPasswordAndIpv6) {
  auto ep = parse_url("redis://app:p%40ss@[::1]:7000/1");
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->username, "app");
  EXPECT_EQ(ep->password, "p@ss");
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 7000);
  EXPECT_EQ(ep->db, 1);
}

TEST(RedisUrl, ParsesUnixSocketWithDb) {
  auto ep = parse_url("unix:///run/redis/redis.sock?db=4");
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(ep->db, 4);
  EXPECT_TRUE(ep->host.empty());
}

TEST(RedisUrl, RejectsMalformedUrlsWithoutEchoingSecrets) {
  for (const char* bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:99999",
                          "redis://h:abc", "redis://h/x", "unix://relative", "rediss://h",
                          "redis://:pw%zz@h", "redis://[::1", "unix:///s?db=x"}) {
    auto ep = parse_url(bad);
    EXPECT_FALSE(ep) << bad;
    if (!ep) {
      EXPECT_EQ(ep.error().code, Errc::bad_request) << bad;
    }
  }
  auto ep = parse_url("redis://:topsecret@h:bad");
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().message.find("topsecret"), std::string::npos);
}

TEST(RedisReply, ConvertsBetweenStringAndInteger) {
  Reply i{Reply::Kind::integer, 42, {}, {}};
  EXPECT_EQ(i.as_string(), "42");
  EXPECT_EQ(i.as_integer(), 42);
  Reply s{Reply::Kind::string, 0, "17", {}};
  EXPECT_EQ(s.as_integer(), 17);
  Reply t{Reply::Kind::string, 0, "17x", {}};
  EXPECT_FALSE(t.as_integer());
  Reply nil;
  EXPECT_FALSE(nil.as_string());
  EXPECT_TRUE(nil.is_nil());
}

}  // namespace
}  // namespace ragd::redis
