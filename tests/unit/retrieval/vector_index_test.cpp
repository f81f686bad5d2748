#include "ragd/retrieval/vector_index.hpp"

#include "random_vectors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

using namespace ragd::retrieval;

namespace {

// A unit vector pointing mostly along axis `axis`.
std::vector<float> axis_vector(int dim, int axis, float noise = 0.0f) {
  std::vector<float> v(static_cast<std::size_t>(dim), noise);
  v[static_cast<std::size_t>(axis)] = 1.0f;
  float n = 0;
  for (float x : v) n += x * x;
  for (float& x : v) x /= std::sqrt(n);
  return v;
}

}  // namespace

TEST(VectorIndex, FindsTheNearestVectorFirst) {
  VectorIndex index(8);
  std::vector<float> data;
  for (int axis = 0; axis < 4; ++axis) {
    auto v = axis_vector(8, axis);
    data.insert(data.end(), v.begin(), v.end());
  }
  ASSERT_TRUE(index.add({10, 11, 12, 13}, data.data(), 4));
  EXPECT_EQ(index.size(), 4u);

  auto q = axis_vector(8, 2, 0.1f);
  auto hits = index.search(q.data(), 2);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].first, 12);
  EXPECT_GT((*hits)[0].second, (*hits)[1].second);
}

TEST(VectorIndex, ReturnsFewerHitsThanKWhenSmall) {
  VectorIndex index(4);
  auto v = axis_vector(4, 0);
  ASSERT_TRUE(index.add({1}, v.data(), 1));
  auto hits = index.search(v.data(), 10);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->size(), 1u);
  EXPECT_TRUE(index.search(v.data(), 0)->empty());

  VectorIndex empty(4);
  EXPECT_TRUE(empty.search(v.data(), 3)->empty());
}

TEST(VectorIndex, RemoveDropsIdsAndIgnoresUnknownOnes) {
  VectorIndex index(4);
  std::vector<float> data;
  for (int axis = 0; axis < 3; ++axis) {
    auto v = axis_vector(4, axis);
    data.insert(data.end(), v.begin(), v.end());
  }
  ASSERT_TRUE(index.add({1, 2, 3}, data.data(), 3));
  auto removed = index.remove({2, 99});
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_FALSE(index.contains(2));
  auto q = axis_vector(4, 1);
  for (const auto& [id, score] : *index.search(q.data(), 3)) {
    EXPECT_NE(id, 2);
  }
  // The remaining ids still map to their own vectors after FAISS compacts its storage.
  auto q3 = axis_vector(4, 2);
  EXPECT_EQ(index.search(q3.data(), 1)->front().first, 3);
}

TEST(VectorIndex, AddingAnExistingIdReplacesItsVector) {
  VectorIndex index(4);
  auto a = axis_vector(4, 0);
  auto b = axis_vector(4, 3);
  ASSERT_TRUE(index.add({7}, a.data(), 1));
  ASSERT_TRUE(index.add({7}, b.data(), 1));
  EXPECT_EQ(index.size(), 1u);
  auto hits = index.search(b.data(), 1);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->front().first, 7);
  EXPECT_NEAR(hits->front().second, 1.0f, 1e-5);
}

TEST(VectorIndex, RejectsBadBatchesWithoutChangingAnything) {
  VectorIndex index(4);
  auto v = axis_vector(4, 0);
  std::vector<float> two(v);
  two.insert(two.end(), v.begin(), v.end());
  EXPECT_FALSE(index.add({1, 1}, two.data(), 2));
  EXPECT_FALSE(index.add({1}, two.data(), 2));
  EXPECT_EQ(index.size(), 0u);
}

TEST(VectorIndex, SearchBatchAnswersEachQuery) {
  VectorIndex index(4);
  std::vector<float> data;
  for (int axis = 0; axis < 4; ++axis) {
    auto v = axis_vector(4, axis);
    data.insert(data.end(), v.begin(), v.end());
  }
  ASSERT_TRUE(index.add({0, 1, 2, 3}, data.data(), 4));
  auto results = index.search_batch(data.data(), 4, 1);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 4u);
  for (std::int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*results)[static_cast<std::size_t>(i)][0].first, i);
  }
}

TEST(VectorIndex, SearchesConcurrentlyWhileAdding) {
  constexpr int kDim = 32;
  VectorIndex index(kDim);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto random_unit = [&] {
    std::vector<float> v(kDim);
    float n = 0;
    for (float& x : v) {
      x = normal(rng);
      n += x * x;
    }
    for (float& x : v) x /= std::sqrt(n);
    return v;
  };
  std::vector<float> seed = random_unit();
  ASSERT_TRUE(index.add({0}, seed.data(), 1));

  std::vector<std::vector<float>> batches;
  for (int b = 0; b < 50; ++b) {
    std::vector<float> batch;
    for (int i = 0; i < 20; ++i) {
      auto v = random_unit();
      batch.insert(batch.end(), v.begin(), v.end());
    }
    batches.push_back(std::move(batch));
  }

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto hits = index.search(seed.data(), 5);
        if (!hits || hits->empty() || hits->front().first != 0) ++failures;
        ++searches;
      }
    });
  }
  // The writer can otherwise finish before any reader has been scheduled.
  while (searches.load() == 0) std::this_thread::yield();
  for (int b = 0; b < 50; ++b) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(1 + b * 20 + i);
    ASSERT_TRUE(index.add(ids, batches[static_cast<std::size_t>(b)].data(), ids.size()));
    if (b % 10 == 9) {
      ASSERT_TRUE(index.remove({ids.front()}));
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(index.size(), 1u + 50 * 20 - 5);
}

// The flat scan computes scores a block of vectors at a time (about 64k scores per call)
// and keeps the best k per query: checked against a plain loop, with enough vectors and
// queries for several blocks, and ids that are not positions.
TEST(VectorIndex, FlatScanMatchesAPlainLoopAcrossBlocks) {
  constexpr int kDim = 16;
  constexpr std::size_t kCount = 9000;  // 16 queries: 4096 vectors per block, 3 blocks
  constexpr std::size_t kQueries = 16;
  constexpr int kTop = 7;
  VectorIndex index(kDim);
  const auto data = testdata::random_unit_vectors(kCount, kDim, 11);
  std::vector<std::int64_t> ids(kCount);
  for (std::size_t i = 0; i < kCount; ++i) ids[i] = 1000000 + static_cast<std::int64_t>(i) * 3;
  ASSERT_TRUE(index.add(ids, data.data(), kCount));
  const auto queries = testdata::random_unit_vectors(kQueries, kDim, 12);

  auto batch = index.search_batch(queries.data(), kQueries, kTop);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size(), kQueries);
  for (std::size_t q = 0; q < kQueries; ++q) {
    std::vector<std::pair<float, std::int64_t>> expected;
    for (std::size_t i = 0; i < kCount; ++i) {
      float dot = 0;
      for (int j = 0; j < kDim; ++j) dot += queries[q * kDim + j] * data[i * kDim + j];
      expected.emplace_back(dot, ids[i]);
    }
    std::partial_sort(expected.begin(), expected.begin() + kTop, expected.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    const auto& got = (*batch)[q];
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kTop));
    for (int r = 0; r < kTop; ++r) {
      EXPECT_EQ(got[r].first, expected[r].second) << "query " << q << " rank " << r;
      EXPECT_NEAR(got[r].second, expected[r].first, 1e-4);
    }
    // One query alone (sgemv) gives the same answer as in the batch (sgemm).
    auto single = index.search(queries.data() + q * kDim, kTop);
    ASSERT_TRUE(single);
    ASSERT_EQ(single->size(), got.size());
    for (int r = 0; r < kTop; ++r) EXPECT_EQ((*single)[r].first, got[r].first);
  }
}

TEST(VectorIndex, FlatScanBreaksTiesByInsertionOrder) {
  VectorIndex index(4);
  const auto v = axis_vector(4, 1);
  std::vector<float> data;
  for (int i = 0; i < 5; ++i) data.insert(data.end(), v.begin(), v.end());
  ASSERT_TRUE(index.add({50, 40, 30, 20, 10}, data.data(), 5));
  auto hits = index.search(v.data(), 3);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 3u);
  EXPECT_EQ((*hits)[0].first, 50);
  EXPECT_EQ((*hits)[1].first, 40);
  EXPECT_EQ((*hits)[2].first, 30);
}

// Scores that tie everywhere: 0/1 components make every inner product a small integer,
// exact in any summation order, so thousands of vectors share each score. The k best must
// still be the first k under (score, then insertion order), for a k larger than a block's
// share of the ties and across several blocks, batched and alone.
TEST(VectorIndex, FlatScanKeepsTheFirstOfManyTiesAcrossBlocks) {
  constexpr int kDim = 16;
  constexpr std::size_t kCount = 9000;  // 16 queries: 4096 vectors per block, 3 blocks
  constexpr std::size_t kQueries = 16;
  std::mt19937 rng(5);
  std::bernoulli_distribution bit(0.3);
  std::vector<float> data(kCount * kDim);
  for (auto& x : data) x = bit(rng) ? 1.0f : 0.0f;
  std::vector<float> queries(kQueries * kDim);
  for (auto& x : queries) x = bit(rng) ? 1.0f : 0.0f;
  std::vector<std::int64_t> ids(kCount);
  for (std::size_t i = 0; i < kCount; ++i) ids[i] = 7000000 - static_cast<std::int64_t>(i) * 5;
  VectorIndex index(kDim);
  ASSERT_TRUE(index.add(ids, data.data(), kCount));

  for (const int top : {1, 3, 100, 700}) {
    auto batch = index.search_batch(queries.data(), kQueries, top);
    ASSERT_TRUE(batch);
    for (std::size_t q = 0; q < kQueries; ++q) {
      std::vector<std::pair<float, std::size_t>> expected;
      for (std::size_t i = 0; i < kCount; ++i) {
        float dot = 0;
        for (int j = 0; j < kDim; ++j) dot += queries[q * kDim + j] * data[i * kDim + j];
        expected.emplace_back(dot, i);
      }
      std::stable_sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      auto single = index.search(queries.data() + q * kDim, top);
      ASSERT_TRUE(single);
      for (const auto* got : {&(*batch)[q], &*single}) {
        ASSERT_EQ(got->size(), static_cast<std::size_t>(top));
        for (int r = 0; r < top; ++r) {
          ASSERT_EQ((*got)[r].first, ids[expected[r].second]) << "k " << top << " query " << q << " rank " << r;
          ASSERT_EQ((*got)[r].second, expected[r].first);
        }
      }
    }
  }
}
