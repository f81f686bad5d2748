#include "ragd/retrieval/fusion.hpp"

#include <gtest/gtest.h>

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
