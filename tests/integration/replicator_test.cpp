// Replicas converging through the Redis ingest stream of a real redis-server.
#include "ragd/replication/replicator.hpp"

#include "ragd/metrics/metrics.hpp"
#include "ragd/redis/client.hpp"
#include "ragd/replication/ingest_entry.hpp"
#include "ragd/retrieval/retriever.hpp"
#include "ragd/retrieval/snapshot.hpp"

#include "co_assert.hpp"
#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <memory>

namespace ragd::replication {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using retrieval::Document;
using test::eventually;
using test::RedisServer;
using test::redis_config;
using test::run_coro;

RetrievalConfig retrieval_config(std::string snapshot_path = {}) {
  RetrievalConfig c;
  c.embedding_dim = 64;
  c.search_threads = 1;
  c.snapshot_path = std::move(snapshot_path);
  c.snapshot_interval_ms = 10;
  return c;
}

// One gateway replica's replication parts, on the test's io_context.
struct Replica {
  Replica(asio::io_context& io, const RedisServer& server, std::string name, std::string snapshot_path = {},
          ReplicationConfig config = {})
      : redis(io.get_executor(), redis_config(server)), retriever(retrieval_config(std::move(snapshot_path))) {
    (void)retriever.load_snapshot();
    config.apply_timeout_ms = 5000;
    replicator = std::make_unique<Replicator>(io.get_executor(), redis, retriever.local_writer(), config, std::move(name), registry);
    replicator->start();
  }
  ~Replica() {
    replicator->stop();
    redis.close();
  }

  bool has(const std::string& doc_id) const {
    auto hits = retriever.search_sync(doc_id, 10, retrieval::SearchMode::lexical);
    if (!hits) return false;
    for (const auto& h : *hits) {
      if (h.doc_id == doc_id) return true;
    }
    return false;
  }

  metrics::Registry registry;
  redis::Client redis;
  retrieval::Retriever retriever;
  std::unique_ptr<Replicator> replicator;
};

// The id is part of the text, so has() finds the document by searching for its id.
std::vector<Document> docs(const std::string& id, const std::string& text) {
  return {Document{id, "", id + ": " + text}};
}

asio::awaitable<bool> converged(const Replica& a, const Replica& b) {
  // The follower's status moves last (after the index and the counters).
  std::function<bool()> same = [&a, &b] {
    return a.replicator->status().applied_sequence == b.replicator->status().applied_sequence &&
           a.retriever.version() == b.retriever.version() &&
           a.retriever.document_count() == b.retriever.document_count();
  };
  co_return co_await eventually(std::move(same), 10s);
}

TEST(Replicator, EveryReplicaAppliesWhatAnyOnePublishes) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    Replica b(io, server, "gw-b");

    auto stats = co_await a.replicator->ingest("default", docs("bees", "Honey bees dance to show where the flowers are."));
    CO_ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ(stats->documents, 1u);
    EXPECT_EQ(stats->index_version, 1u);
    // Read-your-writes on the replica that accepted the change.
    EXPECT_TRUE(a.has("bees"));
    CO_ASSERT_TRUE(co_await converged(a, b));
    EXPECT_TRUE(b.has("bees"));

    auto removed = co_await b.replicator->remove("default", "bees");
    CO_ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(removed->removed);
    EXPECT_EQ(removed->index_version, 2u);
    EXPECT_FALSE(b.has("bees"));
    CO_ASSERT_TRUE(co_await converged(a, b));
    EXPECT_FALSE(a.has("bees"));

    // A delete of an unknown id is ordered like any change and reports it found nothing.
    auto missing = co_await a.replicator->remove("default", "nothing-here");
    CO_ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->removed);
    CO_ASSERT_TRUE(co_await converged(a, b));
    EXPECT_EQ(a.retriever.version(), 3u);
    EXPECT_EQ(a.replicator->status().applied_sequence, 3u);
    EXPECT_EQ(server.cli({"XLEN", "ragd:ingest"}), "3");
    EXPECT_NE(a.registry.render().find("ragd_replication_entries_published_total 2"), std::string::npos);
    EXPECT_NE(b.registry.render().find("ragd_replication_entries_applied_total 3"), std::string::npos);
  });
}

TEST(Replicator, InvalidChangesAreRefusedBeforeAnythingIsPublished) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    std::vector<Document> blank_text = {Document{"x", "", "   "}};
    auto blank = co_await a.replicator->ingest("default", std::move(blank_text));
    CO_ASSERT_FALSE(blank);
    EXPECT_EQ(blank.error().code, Errc::bad_request);
    auto none = co_await a.replicator->ingest("default", {});
    CO_ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::bad_request);
    auto long_id = co_await a.replicator->remove("default", std::string(retrieval::kMaxDocumentIdChars + 1, 'x'));
    CO_ASSERT_FALSE(long_id);
    EXPECT_EQ(long_id.error().code, Errc::bad_request);
    EXPECT_EQ(server.cli({"XLEN", "ragd:ingest"}), "0");
    EXPECT_EQ(a.retriever.version(), 0u);
  });
}

TEST(Replicator, WithRedisDownChangesFailAndNothingIsAppliedThenFollowingResumes) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    Replica b(io, server, "gw-b");
    CO_ASSERT_TRUE(co_await a.replicator->ingest("default", docs("onion", "The first document.")));
    CO_ASSERT_TRUE(co_await converged(a, b));

    server.stop();
    auto refused = co_await a.replicator->ingest("default", docs("tango", "Never published."));
    CO_ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::unavailable);
    EXPECT_FALSE(a.has("tango"));
    EXPECT_EQ(a.retriever.version(), 1u);
    std::function<bool()> disconnected = [&b] { return !b.replicator->status().connected; };
    CO_ASSERT_TRUE(co_await eventually(std::move(disconnected), 10s));

    // Redis comes back empty (no persistence): numbering goes on from the caught-up publisher,
    // so the other replica applies the next change without seeing a gap.
    server.start();
    Result<retrieval::IngestStats> three = make_error(Errc::internal, "not tried");
    for (int attempt = 0; attempt < 50 && !three; ++attempt) {
      three = co_await a.replicator->ingest("default", docs("tulip", "Published after the outage."));
      if (!three) co_await test::sleep_for(100ms);
    }
    CO_ASSERT_TRUE(three) << three.error().message;
    EXPECT_EQ(three->index_version, 2u);
    CO_ASSERT_TRUE(co_await converged(a, b));
    EXPECT_TRUE(b.has("tulip"));
    EXPECT_FALSE(b.replicator->status().diverged);
    EXPECT_NE(b.registry.render().find("ragd_replication_errors_total{stage=\"read\"}"), std::string::npos);
  });
}

TEST(Replicator, ARestartedReplicaResumesFromItsSnapshotPosition) {
  RedisServer server;
  test::TempDir dir;
  const std::string snap = dir.path() + "/b.snap";
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    {
      Replica b(io, server, "gw-b", snap);
      CO_ASSERT_TRUE(co_await b.replicator->ingest("default", docs("apple", "Written before the restart.")));
      CO_ASSERT_TRUE(co_await converged(a, b));
      b.replicator->stop();
      auto saved = co_await b.retriever.save_snapshot();
      CO_ASSERT_TRUE(saved) << saved.error().message;
    }
    CO_ASSERT_TRUE(co_await a.replicator->ingest("default", docs("banana", "Written while b was down.")));
    CO_ASSERT_TRUE(co_await a.replicator->remove("default", "apple"));

    Replica b(io, server, "gw-b", snap);
    EXPECT_EQ(b.retriever.change_position().sequence, 1u);
    CO_ASSERT_TRUE(co_await converged(a, b));
    EXPECT_TRUE(b.has("banana"));
    EXPECT_FALSE(b.has("apple"));
    EXPECT_EQ(b.retriever.version(), 3u);
    // It applied only the two entries it had missed.
    EXPECT_NE(b.registry.render().find("ragd_replication_entries_applied_total 2"), std::string::npos);
  });
}

TEST(Replicator, AReplicaBehindATrimmedStreamReportsItCannotConverge) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    for (int i = 0; i < 3; ++i) {
      CO_ASSERT_TRUE(co_await a.replicator->ingest("default", docs("d" + std::to_string(i), "Document number " + std::to_string(i))));
    }
    EXPECT_EQ(server.cli({"XTRIM", "ragd:ingest", "MAXLEN", "1"}), "2");

    Replica fresh(io, server, "gw-c");
    std::function<bool()> diverged = [&fresh] { return fresh.replicator->status().diverged; };
    CO_ASSERT_TRUE(co_await eventually(std::move(diverged), 10s));
    const auto st = fresh.replicator->status();
    EXPECT_NE(st.reason.find("1..2 were trimmed"), std::string::npos) << st.reason;
    EXPECT_EQ(st.applied_sequence, 0u);
    EXPECT_EQ(fresh.retriever.document_count(), 0u);  // nothing applied past the gap
    std::function<bool()> lag_known = [&fresh] { return fresh.replicator->status().lag_entries == 3; };
    CO_ASSERT_TRUE(co_await eventually(std::move(lag_known), 10s));
    EXPECT_NE(fresh.registry.render().find("ragd_replication_diverged 1"), std::string::npos);
    auto refused = co_await fresh.replicator->ingest("default", docs("late", "Refused here."));
    CO_ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::unavailable);
    // The healthy replica goes on.
    CO_ASSERT_TRUE(co_await a.replicator->ingest("default", docs("d3", "Document number 3")));
    EXPECT_FALSE(a.replicator->status().diverged);
  });
}

TEST(Replicator, AMalformedEntryIsCountedAndSkipped) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    std::function<bool()> caught_up = [&a] { return a.replicator->status().caught_up; };
    CO_ASSERT_TRUE(co_await eventually(std::move(caught_up), 10s));
    server.cli({"XADD", "ragd:ingest", "*", "seq", "1", "entry", "{not json"});
    auto stats = co_await a.replicator->ingest("default", docs("okapi", "Applied after the bad entry."));
    CO_ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ(stats->index_version, 2u);
    EXPECT_TRUE(a.has("okapi"));
    EXPECT_NE(a.registry.render().find("ragd_replication_errors_total{stage=\"decode\"} 1"), std::string::npos);
  });
}

// Entries carry their tenant: every replica stores each change in its tenant's corpus, the
// same id in two tenants stays two documents, a delete in one leaves the other's, and an
// entry written before tenants (no tenant field) is the default tenant's.
TEST(Replicator, EveryReplicaKeepsEachTenantsDocumentsApart) {
  RedisServer server;
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    Replica a(io, server, "gw-a");
    Replica b(io, server, "gw-b");
    CO_ASSERT_TRUE(co_await a.replicator->ingest("x", docs("guide", "Tenant x writes about volcanoes.")));
    CO_ASSERT_TRUE(co_await b.replicator->ingest("y", docs("guide", "Tenant y writes about bees.")));
    auto removed = co_await a.replicator->remove("y", "guide");
    CO_ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(removed->removed);
    server.cli({"XADD", "ragd:ingest", "*", "seq", "4", "entry",
                R"({"op":"upsert","documents":[{"id":"old","text":"Written before tenants."}],"token":"","origin":"gw-old"})"});
    for (Replica* r : {&a, &b}) {
      std::function<bool()> applied = [r] { return r->replicator->status().applied_sequence == 4; };
      CO_ASSERT_TRUE(co_await eventually(std::move(applied), 10s));
      auto x = r->retriever.document_sync("x", "guide");
      CO_ASSERT_TRUE(x);
      EXPECT_EQ(x->text, "guide: Tenant x writes about volcanoes.");
      EXPECT_FALSE(r->retriever.document_sync("y", "guide")) << "y's delete missed";
      EXPECT_FALSE(r->retriever.document_sync("guide")) << "the default tenant got a tenant's document";
      EXPECT_TRUE(r->retriever.document_sync("old")) << "an entry without a tenant is the default tenant's";
      EXPECT_FALSE(r->retriever.document_sync("x", "old"));
      EXPECT_EQ(r->retriever.version("x"), 1u);
      EXPECT_EQ(r->retriever.version("y"), 3u);
      EXPECT_EQ(r->retriever.version("default"), 4u);
    }
  });
}

TEST(Replicator, TheStreamIsCapped) {
  RedisServer server({"--stream-node-max-entries", "4"});
  run_coro<void>([&](asio::io_context& io) -> asio::awaitable<void> {
    ReplicationConfig config;
    config.max_entries = 8;
    Replica a(io, server, "gw-a", {}, config);
    for (int i = 0; i < 40; ++i) {
      CO_ASSERT_TRUE(co_await a.replicator->ingest("default", docs("d" + std::to_string(i), "Document " + std::to_string(i))));
    }
    const int length = std::stoi(server.cli({"XLEN", "ragd:ingest"}));
    EXPECT_GE(length, 8);
    EXPECT_LE(length, 8 + 4);  // MAXLEN ~ trims whole nodes of 4
    EXPECT_EQ(a.retriever.document_count(), 40u);
    EXPECT_EQ(a.retriever.version(), 40u);
  });
}

}  // namespace
}  // namespace ragd::replication
