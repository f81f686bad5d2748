#include "ragd/retrieval/fusion.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>

using namespace ragd::retrieval;

TEST(RrfFuse, SumsReciprocalRanksAcrossLists) {
  const std::vector<std::vector<ScoredId>> lists = {
      {{1, 0.9f}, {2, 0.8f}, {3, 0.7f}},
      {{3, 12.0f}, {1, 11.0f}},
  };
  const auto fused = rrf_fuse(lists, 60.0);
  ASSERT_EQ(fused.size(), 3u);
  // 1: 1/61 + 1/62; 3: 1/63 + 1/61; 2: 1/62.
  EXPECT_EQ(fused[0].first, 1);
  EXPECT_NEAR(fused[0].second, 1.0 / 61 + 1.0 / 62, 1e-7);
  EXPECT_EQ(fused[1].first, 3);
  EXPECT_NEAR(fused[1].second, 1.0 / 63 + 1.0 / 61, 1e-7);
  EXPECT_EQ(fused[2].first, 2);
  EXPECT_NEAR(fused[2].second, 1.0 / 62, 1e-7);
}

TEST(RrfFuse, IgnoresTheInputScores) {
  const auto a = rrf_fuse({{{5, 100.0f}, {6, -3.0f}}});
  const auto b = rrf_fuse({{{5, 0.1f}, {6, 0.0f}}});
  EXPECT_EQ(a, b);
}

TEST(RrfFuse, AgreementBeatsOneListsTopItem) {
  // 7 is second in both lists; 8 and 9 each top one list only.
  const auto fused = rrf_fuse({{{8, 1}, {7, 1}}, {{9, 1}, {7, 1}}});
  EXPECT_EQ(fused[0].first, 7);
}

TEST(RrfFuse, WeightsScaleEachListsContribution) {
  const std::vector<std::vector<ScoredId>> lists = {{{1, 1}}, {{2, 1}}};
  EXPECT_EQ(rrf_fuse(lists, 60, {0.5, 1.0})[0].first, 2);
  EXPECT_EQ(rrf_fuse(lists, 60, {1.0, 0.5})[0].first, 1);
  EXPECT_NEAR(rrf_fuse(lists, 60, {0.5, 1.0})[1].second, 0.5 / 61, 1e-7);
}

TEST(RrfFuse, TiesGoToTheBetterBestRankThenTheSmallerId) {
  // Mirror-image lists: 4 and 3 get the same score and the same best rank.
  const auto fused = rrf_fuse({{{4, 1}, {3, 1}}, {{3, 1}, {4, 1}}});
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_EQ(fused[0].first, 3);  // same score, same best rank: smaller id first
  const auto deeper = rrf_fuse({{{10, 1}, {11, 1}}, {}});
  EXPECT_EQ(deeper[0].first, 10);
}

TEST(RrfFuse, LimitKeepsTheBestAndEmptyInputGivesNothing) {
  const auto fused = rrf_fuse({{{1, 1}, {2, 1}, {3, 1}, {4, 1}}}, 60, {}, 2);
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_EQ(fused[0].first, 1);
  EXPECT_EQ(fused[1].first, 2);
  EXPECT_TRUE(rrf_fuse({}).empty());
  EXPECT_TRUE(rrf_fuse({{}, {}}).empty());
}

TEST(RrfFuse, NonPositiveKFallsBackToTheDefault) {
  EXPECT_EQ(rrf_fuse({{{1, 1}}}, 0.0), rrf_fuse({{{1, 1}}}, kDefaultRrfK));
}

// Against a plain map-based fusion: three lists drawn from a small id range (so ids repeat
// across lists and collide in the table), negative and large ids, every limit.
TEST(RrfFuse, MatchesAStraightforwardFusionOnRandomLists) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::vector<ScoredId>> lists(3);
    for (auto& list : lists) {
      std::vector<std::int64_t> ids;
      for (std::int64_t id = -20; id < 60; ++id) ids.push_back(id * 1'000'003 + (id % 3 == 0 ? INT64_C(1) << 40 : 0));
      std::shuffle(ids.begin(), ids.end(), rng);
      ids.resize(rng() % 50);
      for (auto id : ids) list.emplace_back(id, 0.0f);
    }
    const std::vector<double> weights = {0.7, 1.0, 1.3};
    std::map<std::int64_t, std::pair<double, std::size_t>> expected;  // id -> score, best rank
    for (std::size_t i = 0; i < lists.size(); ++i) {
      for (std::size_t r = 0; r < lists[i].size(); ++r) {
        auto& e = expected.try_emplace(lists[i][r].first, 0.0, SIZE_MAX).first->second;
        e.first += weights[i] / (60.0 + static_cast<double>(r + 1));
        e.second = std::min(e.second, r);
      }
    }
    std::vector<std::pair<std::int64_t, std::pair<double, std::size_t>>> order(expected.begin(), expected.end());
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      if (a.second.first != b.second.first) return a.second.first > b.second.first;
      if (a.second.second != b.second.second) return a.second.second < b.second.second;
      return a.first < b.first;
    });
    const std::size_t limit = rng() % 20;
    const auto fused = rrf_fuse(lists, 60.0, weights, limit);
    const std::size_t n = limit == 0 ? order.size() : std::min(limit, order.size());
    ASSERT_EQ(fused.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(fused[i].first, order[i].first) << "round " << round << " position " << i;
      ASSERT_NEAR(fused[i].second, order[i].second.first, 1e-6);
    }
  }
}
