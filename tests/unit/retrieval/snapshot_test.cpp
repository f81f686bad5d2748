#include "ragd/retrieval/snapshot.hpp"

#include <gtest/gtest.h>

using namespace ragd::retrieval;

// The change position of a corpus fed by the replication stream.
TEST(Snapshot, KeepsTheReplicationPosition) {
  SnapshotData data;
  data.dim = 4;
  data.index_version = 7;
  data.replication_stream_id = "1700000000000-3";
  data.replication_sequence = 7;
  auto back = decode_snapshot(encode_snapshot(data));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->replication_stream_id, "1700000000000-3");
  EXPECT_EQ(back->replication_sequence, 7u);

  data.replication_stream_id.clear();
  auto plain = decode_snapshot(encode_snapshot(data));
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->replication_stream_id.empty());
  EXPECT_EQ(plain->replication_sequence, 0u);
}
