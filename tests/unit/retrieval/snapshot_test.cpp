#include "ragd/retrieval/snapshot.hpp"

#include "format1_snapshot.hpp"

#include <gtest/gtest.h>

using namespace ragd::retrieval;

// The change position of a corpus fed by the replication stream.
TEST(Snapshot, KeepsTheReplicationPosition) {
  SnapshotData data;
  data.dim = 4;
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

namespace {

TenantSnapshot tenant_part(std::string tenant, std::uint64_t version, std::string doc_id, std::string text) {
  TenantSnapshot t;
  t.tenant = std::move(tenant);
  t.index_version = version;
  t.next_chunk_key = 2;
  t.documents.push_back(StoredDocument{doc_id, "", "", text, 1});
  t.chunks.push_back(Chunk{1, doc_id, doc_id + "#0", "", text, 0, 0});
  t.vectors = {1, 0, 0, 0};
  return t;
}

}  // namespace

// Two tenants with the same document id keep their own documents, chunks and versions.
TEST(Snapshot, KeepsEachTenantsCorpusApart) {
  SnapshotData data;
  data.dim = 4;
  data.replication_stream_id = "1700000000000-9";
  data.replication_sequence = 9;
  data.tenants.push_back(tenant_part("a", 9, "guide.md", "Tenant a's guide."));
  data.tenants.push_back(tenant_part("b", 4, "guide.md", "Tenant b's guide."));
  auto back = decode_snapshot(encode_snapshot(data));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->tenants.size(), 2u);
  EXPECT_EQ(back->tenants[0].tenant, "a");
  EXPECT_EQ(back->tenants[0].index_version, 9u);
  EXPECT_EQ(back->tenants[0].documents[0].text, "Tenant a's guide.");
  EXPECT_EQ(back->tenants[0].chunks[0].text, "Tenant a's guide.");
  EXPECT_EQ(back->tenants[1].tenant, "b");
  EXPECT_EQ(back->tenants[1].index_version, 4u);
  EXPECT_EQ(back->tenants[1].documents[0].text, "Tenant b's guide.");
  EXPECT_EQ(back->replication_sequence, 9u);
  EXPECT_EQ(back->chunk_count(), 2u);
}

// A file written before tenants (format 1) is one corpus: it becomes the tenant "default",
// with its version, position, documents and chunks.
TEST(Snapshot, AFileOfFormatOneLoadsAsTheDefaultTenant) {
  ragd::test::Format1Corpus old;
  old.index_version = 5;
  old.stream_id = "1700000000000-5";
  old.sequence = 5;
  old.documents.push_back(StoredDocument{"guide.md", "Guide", R"({"k":1})", "Written before tenants.", 1});
  old.chunks.push_back(Chunk{3, "guide.md", "guide.md#0", "Guide", "Written before tenants.", 0, 0});
  auto back = decode_snapshot(ragd::test::format1_snapshot(old));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->tenants.size(), 1u);
  const TenantSnapshot& t = back->tenants[0];
  EXPECT_EQ(t.tenant, "default");
  EXPECT_EQ(t.index_version, 5u);
  EXPECT_EQ(t.next_chunk_key, 4);
  ASSERT_EQ(t.documents.size(), 1u);
  EXPECT_EQ(t.documents[0].metadata, R"({"k":1})");
  ASSERT_EQ(t.chunks.size(), 1u);
  EXPECT_EQ(t.chunks[0].id, 3);
  EXPECT_EQ(t.vectors, (std::vector<float>{1, 0, 0, 0}));
  EXPECT_EQ(back->replication_stream_id, "1700000000000-5");
  EXPECT_EQ(back->index_description, "flat");
}

// A tenant named twice (or out of order), or not a valid tenant name, is a corrupt file.
TEST(Snapshot, ATenantNamedTwiceOrBadlyIsCorrupt) {
  SnapshotData data;
  data.dim = 4;
  data.tenants.push_back(tenant_part("a", 1, "x", "one"));
  data.tenants.push_back(tenant_part("a", 2, "y", "two"));
  auto twice = decode_snapshot(encode_snapshot(data));
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("out of order or repeated"), std::string::npos) << twice.error().message;
  data.tenants.pop_back();
  data.tenants[0].tenant = "a:b";
  auto bad = decode_snapshot(encode_snapshot(data));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad tenant name"), std::string::npos) << bad.error().message;
}
