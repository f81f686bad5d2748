// Gateway replicas on one Redis converge on the same documents through the ingest stream:
// a change accepted by any replica reaches every other one, a restarted replica catches up
// from its snapshot plus the stream, a new one from the stream alone, and one that cannot
// (the entries it misses were trimmed) says so in /readyz and /metrics.
#include "stack.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <iostream>
#include <random>
#include <set>
#include <thread>

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json body_of(const HttpResult& r) { return json::parse(r.body, nullptr, false); }

json readyz(int port) { return body_of(http_request(port, "GET", "/readyz")); }

std::uint64_t applied_sequence(int port) {
  auto j = readyz(port);
  if (!j.is_object() || !j["checks"]["replication"].is_object()) return 0;
  return j["checks"]["replication"].value("applied_sequence", std::uint64_t{0});
}

bool reaches(int port, std::uint64_t sequence) {
  return wait_until([&] { return applied_sequence(port) >= sequence; }, 20s);
}

HttpResult ingest(int port, const std::string& id, const std::string& text) {
  json body = {{"documents", {{{"id", id}, {"title", id}, {"text", text}}}}};
  return http_request(port, "POST", "/v1/documents", body.dump());
}

HttpResult remove(int port, const std::string& id) { return http_request(port, "DELETE", "/v1/documents/" + id); }

// Doc ids of the sources of a fresh (uncached) answer to `question` on `port`.
std::set<std::string> sources(int port, const std::string& question) {
  json body = {{"query", question}, {"cache", "bypass"}};
  auto r = http_request(port, "POST", "/query", body.dump());
  std::set<std::string> ids;
  auto j = body_of(r);
  if (r.status != 200 || !j.contains("sources")) return {"<status " + std::to_string(r.status) + ">"};
  for (const auto& s : j["sources"]) ids.insert(s.value("doc_id", ""));
  return ids;
}

std::string metric_line(int port, const std::string& name) {
  auto text = http_request(port, "GET", "/metrics").body;
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

const char* kBees = "Honey bees perform a waggle dance to tell the hive where the flowers are.";
const char* kTides = "Spring tides happen at new and full moon, when the Sun and the Moon line up.";
const char* kChess = "In chess, castling moves the king two squares towards a rook.";

}  // namespace

TEST(Replicas, ConvergeOnIngestsDeletesRestartsAndNewReplicas) {
  Stack stack;  // replica A, with a worker
  const int a = stack.port();
  Replica b(stack, "b", {{"retrieval", {{"snapshot_path", stack.dir() + "/b.snap"}, {"snapshot_interval_ms", 50}}}});

  // Ingest on A: answered once A applied it; B follows.
  auto first = ingest(a, "bees", kBees);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(body_of(first)["index_version"], 1);
  ASSERT_TRUE(reaches(b.port(), 1));
  EXPECT_EQ(sources(b.port(), "How do bees tell the hive where flowers are?").count("bees"), 1u);

  // Delete on B: gone on A.
  ASSERT_EQ(ingest(b.port(), "tides", kTides).status, 200);
  auto deleted = remove(b.port(), "bees");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(body_of(deleted)["index_version"], 3);
  EXPECT_EQ(remove(b.port(), "bees").status, 404);  // ordered after the delete: nothing left
  ASSERT_TRUE(reaches(a, 4));
  // The only document left answers every question.
  EXPECT_EQ(sources(a, "How do bees tell the hive where flowers are?"), std::set<std::string>{"tides"});
  EXPECT_EQ(sources(a, "When do spring tides happen?").count("tides"), 1u);

  // B restarts from its snapshot and catches up on what was published while it was down.
  b.stop();
  ASSERT_EQ(ingest(a, "chess", kChess).status, 200);
  ASSERT_EQ(remove(a, "tides").status, 200);
  b.start();
  ASSERT_TRUE(reaches(b.port(), 6));
  EXPECT_EQ(sources(b.port(), "How does castling move the king?").count("chess"), 1u);
  EXPECT_EQ(sources(b.port(), "When do spring tides happen?"), std::set<std::string>{"chess"});
  // It read the stream after its snapshot's position, not from the start.
  EXPECT_EQ(metric_line(b.port(), "ragd_replication_entries_applied_total"),
            "ragd_replication_entries_applied_total 2");

  // A brand-new replica reads the whole stream.
  Replica c(stack, "c");
  ASSERT_TRUE(reaches(c.port(), 6));
  EXPECT_EQ(sources(c.port(), "How does castling move the king?").count("chess"), 1u);
  // Same entries, same index version everywhere, so the shared answer cache keys line up.
  for (int port : {a, b.port(), c.port()}) {
    EXPECT_EQ(metric_line(port, "ragd_index_version"), "ragd_index_version 6") << port;
    EXPECT_EQ(metric_line(port, "ragd_index_documents"), "ragd_index_documents 1") << port;
  }
  EXPECT_TRUE(wait_until([&] { return http_request(c.port(), "GET", "/readyz").status == 200; }, 20s))
      << readyz(c.port()).dump();
  EXPECT_EQ(readyz(c.port())["checks"]["replication"]["state"], "ok");
}

TEST(Replicas, ConcurrentWritersOnThreeReplicasLeaveTheSameDocumentsEverywhere) {
  // Three replicas, one writer each, all on the same eight ids: random upserts and deletes
  // at once, and replica C restarts (from its snapshot) halfway through its writes.
  Stack stack;
  Replica b(stack, "b");
  Replica c(stack, "c", {{"retrieval", {{"snapshot_path", stack.dir() + "/c.snap"}, {"snapshot_interval_ms", 50}}}});
  constexpr int kIds = 8, kOps = 40;
  std::atomic<int> unexpected{0};
  std::mutex m;
  std::vector<std::string> failures;
  auto writer = [&](int w, std::function<int()> port, std::function<void()> midway) {
    std::mt19937 rng(static_cast<unsigned>(w) * 7919u);
    for (int i = 0; i < kOps; ++i) {
      if (i == kOps / 2) midway();
      const std::string id = "doc-" + std::to_string(rng() % kIds);
      const bool upsert = rng() % 10 < 7;
      auto r = upsert ? ingest(port(), id, "writer " + std::to_string(w) + " op " + std::to_string(i) + " " + kBees)
                      : remove(port(), id);
      // An upsert is 200; a delete is 200, or 404 when the id is already gone.
      if (!(r.status == 200 || (!upsert && r.status == 404))) {
        ++unexpected;
        std::lock_guard lock(m);
        failures.push_back(std::to_string(r.status) + " " + r.body);
      }
    }
  };
  std::thread wa(writer, 0, [&] { return stack.port(); }, [] {});
  std::thread wb(writer, 1, [&] { return b.port(); }, [] {});
  std::thread wc(writer, 2, [&] { return c.port(); }, [&] {
    c.stop();
    c.start();
  });
  wa.join();
  wb.join();
  wc.join();
  EXPECT_EQ(unexpected.load(), 0) << (failures.empty() ? "" : failures.front());

  // Every replica reaches the last published change, then holds the same documents.
  const std::uint64_t last = std::max({applied_sequence(stack.port()), applied_sequence(b.port()),
                                       applied_sequence(c.port())});
  ASSERT_GT(last, 0u);
  for (int port : {stack.port(), b.port(), c.port()}) ASSERT_TRUE(reaches(port, last)) << port;
  int present = 0;
  for (int i = 0; i < kIds; ++i) {
    const std::string path = "/v1/documents/doc-" + std::to_string(i);
    auto on_a = http_request(stack.port(), "GET", path);
    if (on_a.status == 200) ++present;
    for (int port : {b.port(), c.port()}) {
      auto other = http_request(port, "GET", path);
      ASSERT_EQ(other.status, on_a.status) << path << " on " << port;
      if (on_a.status != 200) continue;
      auto x = body_of(on_a), y = body_of(other);
      EXPECT_EQ(x["text"], y["text"]) << path;
      EXPECT_EQ(x["title"], y["title"]) << path;
      EXPECT_EQ(x["chunks"], y["chunks"]) << path;
    }
  }
  std::cout << "[replicas] concurrent writers: " << present << " of " << kIds << " ids present, sequence " << last
            << "\n";
  for (int port : {b.port(), c.port()}) {
    EXPECT_EQ(metric_line(port, "ragd_index_version"), metric_line(stack.port(), "ragd_index_version")) << port;
  }
}

TEST(Replicas, AReplicaBehindATrimmedStreamIsNotReady) {
  Stack stack;
  const int a = stack.port();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(ingest(a, "doc" + std::to_string(i), std::string(kBees) + " Copy " + std::to_string(i)).status, 200);
  }
  EXPECT_EQ(stack.redis().cli({"XTRIM", "ragd:ingest", "MAXLEN", "1"}), "2");

  Replica d(stack, "d");
  ASSERT_TRUE(wait_until([&] { return readyz(d.port())["checks"]["replication"]["state"] == "diverged"; }, 20s))
      << readyz(d.port()).dump();
  auto ready = http_request(d.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("1..2 were trimmed"), std::string::npos) << ready.body;
  EXPECT_EQ(metric_line(d.port(), "ragd_replication_diverged"), "ragd_replication_diverged 1");
  // It refuses changes it could not apply; the healthy replica takes them.
  EXPECT_EQ(ingest(d.port(), "late", kChess).status, 503);
  EXPECT_EQ(ingest(a, "late", kChess).status, 200);
  EXPECT_TRUE(stack.wait_ready());
}

TEST(Replicas, WithRedisDownChangesAreRefusedEverywhere) {
  Stack stack;
  const int a = stack.port();
  Replica b(stack, "b");
  ASSERT_EQ(ingest(a, "bees", kBees).status, 200);
  ASSERT_TRUE(reaches(b.port(), 1));
  stack.redis().stop();
  auto refused = ingest(b.port(), "tides", kTides);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(remove(a, "bees").status, 503);
  stack.redis().start();
  // Back (empty: no persistence): numbering goes on and both replicas apply the next change.
  ASSERT_TRUE(wait_until([&] { return ingest(a, "chess", kChess).status == 200; }, 20s));
  ASSERT_TRUE(reaches(b.port(), 2));
  EXPECT_EQ(metric_line(b.port(), "ragd_index_documents"), "ragd_index_documents 2");
  EXPECT_EQ(metric_line(b.port(), "ragd_replication_diverged"), "ragd_replication_diverged 0");
}
