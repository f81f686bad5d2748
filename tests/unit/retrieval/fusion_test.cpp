#include "ragd/retrieval/fusion.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <map>
#include <random>
#include <set>

using namespace ragd;
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

TEST(ConvexFuse, SumsWeightedMinMaxNormalisedScores) {
  const std::vector<std::vector<ScoredId>> lists = {
      {{1, 0.9f}, {2, 0.7f}, {3, 0.5f}},  // normalised 1, 0.5, 0
      {{3, 12.0f}, {1, 8.0f}},            // normalised 1, 0
  };
  const auto fused = convex_fuse(lists, {0.5, 1.0});
  ASSERT_EQ(fused.size(), 3u);
  // 3: 0.5 * 0 + 1; 1: 0.5 * 1 + 0; 2: 0.5 * 0.5.
  EXPECT_EQ(fused[0].first, 3);
  EXPECT_NEAR(fused[0].second, 1.0, 1e-6);
  EXPECT_EQ(fused[1].first, 1);
  EXPECT_NEAR(fused[1].second, 0.5, 1e-6);
  EXPECT_EQ(fused[2].first, 2);
  EXPECT_NEAR(fused[2].second, 0.25, 1e-6);
}

// Unlike rrf, a leg's score gaps count: a lexical leg sure of its first item keeps it first
// against a dense leg whose top scores are close together.
TEST(ConvexFuse, AConfidentLegOutweighsAnUndecidedOne) {
  const std::vector<std::vector<ScoredId>> lists = {
      {{2, 0.51f}, {1, 0.50f}, {3, 0.10f}},  // dense: 2 barely ahead of 1
      {{1, 30.0f}, {2, 5.0f}, {3, 4.0f}},    // lexical: 1 far ahead
  };
  EXPECT_EQ(convex_fuse(lists, {1.0, 1.0})[0].first, 1);
  // By rank alone 1 and 2 tie (ranks 1 + 2 each); the tie goes to the smaller id, 1, too,
  // so take a dense weight just above the lexical one to see rrf follow the ranks.
  EXPECT_EQ(rrf_fuse(lists, 60.0, {1.01, 1.0})[0].first, 2);
  EXPECT_EQ(convex_fuse(lists, {1.01, 1.0})[0].first, 1);
}

TEST(ConvexFuse, AListOfEqualScoresCountsEachItemAsTop) {
  const auto fused = convex_fuse({{{5, 0.3f}, {6, 0.3f}}, {{6, 2.0f}, {7, 1.0f}}});
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(fused[0].first, 6);  // 1 + 1
  EXPECT_NEAR(fused[0].second, 2.0, 1e-6);
  EXPECT_EQ(fused[1].first, 5);  // 1; 7 is last in its list: 0
  EXPECT_EQ(fused[2].first, 7);
  EXPECT_TRUE(convex_fuse({}).empty());
}

TEST(Fuse, DispatchesOnTheMethodAndReadsTheSettings) {
  RetrievalConfig config;
  config.fusion = "convex";
  config.dense_weight = 0.25;
  config.rrf_k = 10;
  const FusionParams p = hybrid_fusion(config);
  EXPECT_EQ(p.method, FusionMethod::convex);
  EXPECT_EQ(p.weights, (std::vector<double>{0.25, 1.0}));
  const std::vector<std::vector<ScoredId>> lists = {{{1, 0.9f}, {2, 0.1f}}, {{2, 3.0f}, {1, 2.9f}}};
  EXPECT_EQ(fuse(lists, p), convex_fuse(lists, {0.25, 1.0}));
  config.fusion = "rrf";
  EXPECT_EQ(fuse(lists, hybrid_fusion(config)), rrf_fuse(lists, 10, {0.25, 1.0}));
  EXPECT_EQ(parse_fusion_method("convex"), FusionMethod::convex);
  EXPECT_EQ(parse_fusion_method("rrf"), FusionMethod::rrf);
  EXPECT_FALSE(parse_fusion_method("max"));
}

namespace {

// nDCG@10 of `ranked` with the items of `relevant` as binary gains.
double ndcg10(const std::vector<ScoredId>& ranked, const std::set<std::int64_t>& relevant) {
  double dcg = 0.0, ideal = 0.0;
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    if (relevant.count(ranked[i].first)) dcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  }
  for (std::size_t i = 0; i < relevant.size() && i < 10; ++i) ideal += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  return dcg / ideal;
}

}  // namespace

// The requirement on hybrid search: a leg that cannot help (here a random ranking, like a
// weak embedder's) must not drag the fused ranking below the better leg. At weight 0 the
// fused ranking is the better leg's, item for item, by either method, which is what lets
// the tuning grid (which tries weight 0) fall back on the better leg; a small weight costs
// less than an equal one, which drags it far down.
TEST(Fuse, AUselessLegDoesNotPullTheRankingBelowTheBetterLeg) {
  std::mt19937_64 rng(11);
  double good_total = 0.0, small_total = 0.0, equal_total = 0.0;  // nDCG@10 sums
  constexpr int kQueries = 200;
  for (int q = 0; q < kQueries; ++q) {
    // The good leg ranks the relevant items 0..2 near the top, with decreasing scores.
    std::vector<std::int64_t> ids(100);
    for (std::int64_t i = 0; i < 100; ++i) ids[static_cast<std::size_t>(i)] = i;
    std::shuffle(ids.begin() + 3, ids.end(), rng);
    std::swap(ids[0], ids[rng() % 4]);
    std::vector<ScoredId> good;
    for (std::size_t r = 0; r < ids.size(); ++r) good.emplace_back(ids[r], 20.0f - 0.15f * static_cast<float>(r));
    std::vector<ScoredId> useless;
    std::shuffle(ids.begin(), ids.end(), rng);
    for (std::size_t r = 0; r < ids.size(); ++r) useless.emplace_back(ids[r], 0.6f - 0.001f * static_cast<float>(r));
    const std::set<std::int64_t> relevant = {0, 1, 2};
    const std::vector<std::vector<ScoredId>> lists = {useless, good};
    for (FusionMethod method : {FusionMethod::rrf, FusionMethod::convex}) {
      const auto alone = fuse(lists, FusionParams{method, 60.0, {0.0, 1.0}});
      ASSERT_EQ(alone.size(), good.size());
      for (std::size_t i = 0; i < good.size(); ++i) ASSERT_EQ(alone[i].first, good[i].first) << i;
    }
    good_total += ndcg10(good, relevant);
    small_total += ndcg10(fuse(lists, FusionParams{FusionMethod::rrf, 60.0, {0.1, 1.0}}), relevant);
    equal_total += ndcg10(fuse(lists, FusionParams{FusionMethod::rrf, 60.0, {1.0, 1.0}}), relevant);
  }
  EXPECT_LT(small_total, good_total);
  EXPECT_GT(small_total, equal_total);
  EXPECT_LT(equal_total / kQueries, good_total / kQueries - 0.1);
}
