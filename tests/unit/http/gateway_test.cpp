#include "ragd/http/gateway.hpp"

#include <gtest/gtest.h>

namespace ragd::http {
namespace {

GatewayConfig with_threads(int io, int search) {
  GatewayConfig c;
  c.server.threads = io;
  c.retrieval.search_threads = search;
  return c;
}

TEST(IoThreads, AnExplicitCountIsKeptWhateverTheCores) {
  EXPECT_EQ(io_threads(with_threads(3, 2), 2), 3);
  EXPECT_EQ(io_threads(with_threads(1, 8), 64), 1);
}

TEST(IoThreads, ZeroTakesTheCoresTheSearchPoolLeaves) {
  EXPECT_EQ(io_threads(with_threads(0, 2), 8), 6);
  EXPECT_EQ(io_threads(with_threads(0, 2), 4), 2);
  EXPECT_EQ(io_threads(with_threads(0, 1), 4), 3);
}

TEST(IoThreads, ZeroNeverGivesFewerThanOne) {
  EXPECT_EQ(io_threads(with_threads(0, 2), 2), 1);
  EXPECT_EQ(io_threads(with_threads(0, 4), 2), 1);
  // hardware_concurrency() may answer 0 when it cannot tell.
  EXPECT_EQ(io_threads(with_threads(0, 2), 0), 1);
}

}  // namespace
}  // namespace ragd::http
