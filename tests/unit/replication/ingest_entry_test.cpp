#include "ragd/replication/ingest_entry.hpp"

#include <gtest/gtest.h>

namespace ragd::replication {
namespace {

TEST(IngestEntry, RoundTripsUpsertsAndDeletes) {
  IngestEntry up;
  up.documents = {{"a", "Title", "text with \"quotes\"\nand lines", R"({"lang":"en"})"}, {"b", "", "second"}};
  up.token = "t1";
  up.origin = "gw-a";
  auto back = decode_entry(encode_entry(up));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->op, IngestEntry::Op::upsert);
  ASSERT_EQ(back->documents.size(), 2u);
  EXPECT_EQ(back->documents[0].text, up.documents[0].text);
  EXPECT_EQ(back->documents[0].title, "Title");
  EXPECT_EQ(back->documents[0].metadata, R"({"lang":"en"})");
  EXPECT_EQ(back->documents[1].metadata, "");
  EXPECT_EQ(back->token, "t1");
  EXPECT_EQ(back->origin, "gw-a");

  IngestEntry del;
  del.op = IngestEntry::Op::remove;
  del.doc_id = "a";
  auto gone = decode_entry(encode_entry(del));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->op, IngestEntry::Op::remove);
  EXPECT_EQ(gone->doc_id, "a");

  EXPECT_FALSE(decode_entry("not json"));
  EXPECT_FALSE(decode_entry(R"({"op":"rename"})"));
  EXPECT_FALSE(decode_entry(R"({"op":"upsert","documents":[{"id":"x"}]})"));
  EXPECT_FALSE(decode_entry(R"({"op":"delete"})"));
}

// An entry names whose documents it changes; one written before tenants is the default
// tenant's; a tenant that could not be a key's is refused like any malformed entry.
TEST(IngestEntry, CarriesItsTenantAndOneWithoutIsTheDefaultTenants) {
  IngestEntry del;
  del.op = IngestEntry::Op::remove;
  del.tenant = "acme";
  del.doc_id = "guide.md";
  auto back = decode_entry(encode_entry(del));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->tenant, "acme");

  auto old = decode_entry(R"({"op":"upsert","documents":[{"id":"x","text":"t"}],"token":"","origin":"gw"})");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->tenant, "default");

  for (const char* bad : {R"({"op":"delete","id":"x","tenant":"a:b"})", R"({"op":"delete","id":"x","tenant":""})",
                          R"({"op":"delete","id":"x","tenant":7})"}) {
    auto refused = decode_entry(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, Errc::bad_request);
  }
}

}  // namespace
}  // namespace ragd::replication
