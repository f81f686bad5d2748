// HNSW rebuilds and IVF training run on the side: while one is under way, searches,
// writes and snapshots go on with the old index, and the writes made meanwhile are in the
// new index once it is swapped in. A test hook holds the rebuild at its last step (the new
// index built, the writes made meanwhile not yet replayed) for as long as a test needs, so
// "while a rebuild runs" is a fact, not a race.
#include "ragd/retrieval/retriever.hpp"

#include "random_vectors.hpp"
#include "ragd/retrieval/vector_index.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>

using namespace ragd;
using namespace ragd::retrieval;

namespace {

constexpr int kDim = 16;

using ragd::retrieval::testdata::id_range;
using ragd::retrieval::testdata::random_unit_vectors;

// Holds the rebuild thread in the rebuild hook until released. Declare it after the index
// (or Retriever) it holds: it is then destroyed first, and its destructor lets a held
// rebuild go, so a failing test never hangs in the index's destructor. The hook shares
// the state, so it stays valid however the two are destroyed.
class RebuildGate {
 public:
  std::function<void()> hook() {
    return [state = state_] {
      std::unique_lock lock(state->mutex);
      ++state->entered;
      state->changed.notify_all();
      state->changed.wait(lock, [&] { return state->released; });
    };
  }
  // True once the rebuild has reached the hook `times` times in all.
  bool wait_entered(int times = 1) {
    std::unique_lock lock(state_->mutex);
    return state_->changed.wait_for(lock, std::chrono::seconds(30), [&] { return state_->entered >= times; });
  }
  int entered() const {
    std::lock_guard lock(state_->mutex);
    return state_->entered;
  }
  void release() {
    std::lock_guard lock(state_->mutex);
    state_->released = true;
    state_->changed.notify_all();
  }
  ~RebuildGate() { release(); }

 private:
  struct State {
    mutable std::mutex mutex;
    std::condition_variable changed;
    int entered = 0;
    bool released = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Runs `f` on another thread while the gate holds a rebuild. It must finish without the
// rebuild finishing (the gate guarantees the rebuild cannot); if it has not after a long
// while, it is waiting for the rebuild: the test fails, and the gate opens so that
// nothing hangs.
template <class F>
auto finishes_while_held(RebuildGate& gate, F f) {
  auto done = std::async(std::launch::async, std::move(f));
  if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "the call waited for the rebuild";
    gate.release();
  }
  return done.get();
}

std::int64_t top_id(const VectorIndex& index, const float* query) {
  auto hits = index.search(query, 1);
  if (!hits || hits->empty()) return -1;
  return hits->front().first;
}

}  // namespace

TEST(HnswRebuild, SearchesAndWritesGoOnWhileTheGraphIsRebuiltAndNoWriteIsLost) {
  IndexConfig c;
  c.type = "hnsw";
  c.rebuild_deleted_fraction = 0.25;
  VectorIndex index(kDim, c);
  RebuildGate gate;
  index.set_rebuild_hook(gate.hook());
  const auto data = random_unit_vectors(400, kDim, 11);
  ASSERT_TRUE(index.add(id_range(0, 400), data.data(), 400));
  ASSERT_TRUE(index.remove(id_range(0, 120)));  // 30% tombstones: a rebuild starts
  ASSERT_TRUE(gate.wait_entered());
  EXPECT_TRUE(index.stats().rebuilding);
  EXPECT_EQ(index.stats().rebuilds, 0u);
  EXPECT_EQ(index.stats().tombstones, 120u);

  // While it is held, searches answer from the old graph...
  const auto found = finishes_while_held(gate, [&] { return top_id(index, data.data() + 250 * kDim); });
  EXPECT_EQ(found, 250);
  // ...and writes go in: new ids, a replaced id, removed ids.
  const auto fresh = random_unit_vectors(21, kDim, 12);
  const bool written = finishes_while_held(gate, [&] {
    return index.add(id_range(1000, 20), fresh.data(), 20).has_value() &&
           index.add({300}, fresh.data() + 20 * kDim, 1).has_value() && index.remove(id_range(200, 10)).has_value();
  });
  ASSERT_TRUE(written);
  EXPECT_EQ(top_id(index, fresh.data() + 5 * kDim), 1005);
  EXPECT_FALSE(index.contains(205));
  EXPECT_TRUE(index.stats().rebuilding);
  EXPECT_EQ(gate.entered(), 1);

  gate.release();
  index.wait_for_rebuild();
  const auto s = index.stats();
  EXPECT_FALSE(s.rebuilding);
  EXPECT_EQ(s.rebuilds, 1u);
  // The new graph holds the 280 live vectors copied, then the writes replayed onto it: 20
  // new, one replaced (its old entry a tombstone), 10 removed (tombstones).
  EXPECT_EQ(s.tombstones, 11u);
  EXPECT_EQ(index.size(), 290u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(top_id(index, fresh.data() + i * kDim), 1000 + static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(top_id(index, fresh.data() + 20 * kDim), 300);
  std::vector<float> back(kDim);
  ASSERT_TRUE(index.reconstruct({300}, back.data()));
  for (int j = 0; j < kDim; ++j) EXPECT_FLOAT_EQ(back[j], fresh[20 * kDim + j]);
  std::set<std::int64_t> removed;
  for (auto id : id_range(0, 120)) removed.insert(id);
  for (auto id : id_range(200, 10)) removed.insert(id);
  for (auto id : removed) EXPECT_FALSE(index.contains(id)) << id;
  auto all = index.search(data.data() + 210 * kDim, 400);
  ASSERT_TRUE(all);
  EXPECT_GE(all->size(), 200u);  // a graph walk need not reach every node
  for (const auto& [id, score] : *all) EXPECT_EQ(removed.count(id), 0u) << "removed id " << id << " came back";
}

// Writes during a rebuild never start a second one; a new graph that the replayed removes
// have worn past the budget again is rebuilt at once, by the same thread.
TEST(HnswRebuild, OneRebuildAtATimeAndAGraphWornByTheReplayIsRebuiltAgain) {
  IndexConfig c;
  c.type = "hnsw";
  c.rebuild_deleted_fraction = 0.25;
  VectorIndex index(kDim, c);
  RebuildGate gate;
  index.set_rebuild_hook(gate.hook());
  const auto data = random_unit_vectors(400, kDim, 13);
  ASSERT_TRUE(index.add(id_range(0, 400), data.data(), 400));
  ASSERT_TRUE(index.remove(id_range(0, 100)));  // 25%: a rebuild starts
  ASSERT_TRUE(gate.wait_entered());
  // 100 more of the 300 the new graph was built from: far past the budget of the old
  // graph too, but one rebuild is already running.
  ASSERT_TRUE(finishes_while_held(gate, [&] { return index.remove(id_range(100, 100)).has_value(); }));
  EXPECT_EQ(gate.entered(), 1);
  EXPECT_EQ(index.stats().rebuilds, 0u);
  gate.release();
  index.wait_for_rebuild();
  EXPECT_EQ(gate.entered(), 2);
  const auto s = index.stats();
  EXPECT_EQ(s.rebuilds, 2u);
  EXPECT_EQ(s.tombstones, 0u);
  EXPECT_FALSE(s.rebuilding);
  EXPECT_EQ(index.size(), 200u);
  for (std::size_t i = 200; i < 400; i += 19) EXPECT_EQ(top_id(index, data.data() + i * kDim), static_cast<std::int64_t>(i));
}

TEST(IvfTraining, SearchesAndWritesGoOnWhileTheListsAreTrainedAndNoWriteIsLost) {
  IndexConfig c;
  c.type = "ivf";
  c.ivf_nlist = 4;
  c.ivf_nprobe = 4;  // every list: exact once trained
  c.ivf_train_size = 200;
  VectorIndex index(kDim, c);
  RebuildGate gate;
  index.set_rebuild_hook(gate.hook());
  const auto data = random_unit_vectors(300, kDim, 14);
  ASSERT_TRUE(index.add(id_range(0, 250), data.data(), 250));  // past train_size: training starts
  ASSERT_TRUE(gate.wait_entered());
  EXPECT_FALSE(index.stats().trained);
  EXPECT_TRUE(index.stats().rebuilding);

  EXPECT_EQ(finishes_while_held(gate, [&] { return top_id(index, data.data() + 7 * kDim); }), 7);
  const auto fresh = random_unit_vectors(1, kDim, 15);
  const bool written = finishes_while_held(gate, [&] {
    return index.add(id_range(250, 50), data.data() + 250 * kDim, 50).has_value() &&
           index.add({20}, fresh.data(), 1).has_value() && index.remove(id_range(0, 10)).has_value();
  });
  ASSERT_TRUE(written);
  EXPECT_FALSE(index.stats().trained);

  gate.release();
  index.wait_for_rebuild();
  EXPECT_TRUE(index.stats().trained);
  EXPECT_FALSE(index.stats().rebuilding);
  EXPECT_EQ(index.size(), 290u);
  EXPECT_EQ(top_id(index, data.data() + 260 * kDim), 260);
  EXPECT_EQ(top_id(index, fresh.data()), 20);
  for (auto id : id_range(0, 10)) EXPECT_FALSE(index.contains(id));
  auto all = index.search(data.data(), 300);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 290u);
  for (const auto& [id, score] : *all) EXPECT_GE(id, 10) << "removed id " << id << " came back";
}

// Through the Retriever, on a pool of one thread: the rebuild must not take that thread,
// nor hold the store's lock, while searches, ingests, removes and a snapshot go on.
TEST(RetrieverDuringRebuild, SearchesIngestsRemovesAndSnapshotsGoOnWhileTheGraphIsRebuilt) {
  test::TempDir dir;
  RetrievalConfig config;
  config.embedding_dim = 64;
  config.search_threads = 1;
  config.index.type = "hnsw";
  config.index.rebuild_deleted_fraction = 0.2;
  config.snapshot_path = dir.path() + "/index.snap";
  config.snapshot_interval_ms = 600000;  // saved explicitly
  auto doc = [](int i) {
    const std::string n = std::to_string(i);
    return Document{"doc" + n, "Note " + n, "This note is about zq" + n + "x and yv" + n + "k, nothing else."};
  };
  std::vector<Document> docs;
  for (int i = 0; i < 100; ++i) docs.push_back(doc(i));

  Retriever r(config);
  RebuildGate gate;
  r.set_index_rebuild_hook(gate.hook());
  ASSERT_TRUE(r.ingest_sync(docs));
  const bool removed = finishes_while_held(gate, [&] {
    for (int i = 0; i < 25; ++i) {
      if (!r.remove_sync("doc" + std::to_string(i))) return false;
    }
    return true;
  });
  ASSERT_TRUE(removed);
  ASSERT_TRUE(gate.wait_entered());  // 20 tombstones in 100 started it
  EXPECT_TRUE(r.index_stats().rebuilding);

  auto top_doc = [&r](const std::string& query) -> std::string {
    auto hits = r.search_sync(query, 1, SearchMode::dense);
    return hits && !hits->empty() ? hits->front().doc_id : std::string("(none)");
  };
  EXPECT_EQ(finishes_while_held(gate, [&] { return top_doc("zq55x yv55k"); }), "doc55");
  // The coroutine API too: its search goes through the pool's one thread. (run_coro runs
  // its io_context until it has no work left: the pool still holds work on it for a moment
  // after resuming the search.)
  auto searched = finishes_while_held(gate, [&r] {
    return test::run_coro<Result<std::vector<Hit>>>(
        [&r](boost::asio::io_context&) { return r.search("zq66x yv66k", 1, SearchMode::dense); });
  });
  ASSERT_TRUE(searched.has_value()) << searched.error().message;
  ASSERT_FALSE(searched->empty());
  EXPECT_EQ(searched->front().doc_id, "doc66");

  const bool written = finishes_while_held(gate, [&] {
    return r.ingest_sync({Document{"late", "Late", "A late note about qqlatexx and ppmorexx."}}).has_value() &&
           r.remove_sync("doc40").has_value() && r.save_snapshot_sync().has_value();
  });
  ASSERT_TRUE(written);
  EXPECT_EQ(top_doc("qqlatexx ppmorexx"), "late");
  EXPECT_TRUE(r.index_stats().rebuilding);

  gate.release();
  r.vector_index().wait_for_rebuild();
  EXPECT_FALSE(r.index_stats().rebuilding);
  EXPECT_EQ(r.index_stats().rebuilds, 1u);
  EXPECT_EQ(r.chunk_count(), 75u);
  EXPECT_EQ(top_doc("qqlatexx ppmorexx"), "late");
  EXPECT_EQ(top_doc("zq55x yv55k"), "doc55");
  auto deep = r.search_sync("This note is about", 100, SearchMode::dense);
  ASSERT_TRUE(deep);
  for (const auto& h : *deep) {
    const bool gone = h.doc_id == "doc40" || (h.doc_id.rfind("doc", 0) == 0 && std::stoi(h.doc_id.substr(3)) < 25);
    EXPECT_FALSE(gone) << h.doc_id << " came back";
  }

  // The snapshot written during the rebuild holds the writes made before it.
  RetrievalConfig flat = config;
  flat.index.type = "flat";
  Retriever restored(flat);
  auto loaded = restored.load_snapshot();
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->documents, 75u);
  EXPECT_TRUE(restored.document_sync("late").has_value());
  EXPECT_FALSE(restored.document_sync("doc40").has_value());
  EXPECT_FALSE(restored.document_sync("doc3").has_value());
  auto hits = restored.search_sync("qqlatexx ppmorexx", 1, SearchMode::dense);
  ASSERT_TRUE(hits && !hits->empty());
  EXPECT_EQ(hits->front().doc_id, "late");
}
