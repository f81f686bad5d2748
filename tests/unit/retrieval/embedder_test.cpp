#include "ragd/retrieval/embedder.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>

using ragd::retrieval::HashEmbedder;

namespace {

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

double norm(const std::vector<float>& v) { return std::sqrt(dot(v, v)); }

}  // namespace

TEST(HashEmbedder, IsDeterministicAcrossInstances) {
  HashEmbedder a, b;
  const char* text = "The gateway answers /query requests with citations.";
  EXPECT_EQ(a.embed(text), b.embed(text));
  EXPECT_EQ(a.embed(text), a.embed(text));
}

TEST(HashEmbedder, ProducesUnitVectorsOfTheConfiguredSize) {
  HashEmbedder e(128);
  EXPECT_EQ(e.dim(), 128);
  for (const char* text : {"redis", "How do I scale the workers on queue depth?",
                           "naïve café — crème brûlée", "x1 y2 z3"}) {
    auto v = e.embed(text);
    ASSERT_EQ(v.size(), 128u);
    EXPECT_NEAR(norm(v), 1.0, 1e-5) << text;
  }
}

TEST(HashEmbedder, TextWithoutFeaturesEmbedsToZero) {
  HashEmbedder e;
  for (const char* text : {"", "   ", "?!.,;", "what is the", "How do you do it?"}) {
    auto v = e.embed(text);
    EXPECT_EQ(norm(v), 0.0) << text;
  }
}

TEST(HashEmbedder, IgnoresCasePunctuationAndStopWords) {
  HashEmbedder e;
  EXPECT_EQ(e.embed("Hello, World!"), e.embed("hello world"));
  EXPECT_EQ(e.embed("the cache of the gateway"), e.embed("cache gateway"));
}

TEST(HashEmbedder, EmbedIntoMatchesEmbed) {
  HashEmbedder e(64);
  std::vector<float> out(64, 42.0f);
  e.embed_into("stale while revalidate", out.data());
  EXPECT_EQ(out, e.embed("stale while revalidate"));
}

// One weight per term of `terms`: weight(term).
template <class F>
std::vector<float> weights_of(const ragd::retrieval::AnalyzedText& terms, F weight) {
  std::vector<float> out;
  for (std::size_t i = 0; i < terms.size(); ++i) out.push_back(weight(terms.term(i)));
  return out;
}

TEST(HashEmbedder, EmbedTermsWeighsTermsAndMatchesEmbedUnweighted) {
  HashEmbedder e(96);
  const std::string text = "How do deadlines propagate from the HTTP request to Redis commands?";
  ragd::retrieval::AnalyzedText terms;
  e.analyzer().analyze(text, terms);
  // A weight of 1 everywhere is no weight; a weight of 0 everywhere leaves nothing.
  EXPECT_EQ(e.embed_terms(terms, std::vector<float>(terms.size(), 1.0f)), e.embed(text));
  EXPECT_EQ(norm(e.embed_terms(terms, std::vector<float>(terms.size(), 0.0f))), 0.0);
  // Weighting one term up moves the vector toward that term's own embedding.
  const std::string redis = e.analyzer().analyze("Redis").at(0);
  auto redis_up = e.embed_terms(terms, weights_of(terms, [&](std::string_view term) { return term == redis ? 3.0f : 1.0f; }));
  EXPECT_NEAR(norm(redis_up), 1.0, 1e-5);
  EXPECT_GT(dot(redis_up, e.embed("redis")), dot(e.embed(text), e.embed("redis")));
}

TEST(HashEmbedder, EmbedTermsWantsOneWeightPerTerm) {
  HashEmbedder e(128);
  ragd::retrieval::AnalyzedText terms;
  e.analyzer().analyze("Which replica answers when the Redis primary fails over to a replica?", terms);
  std::vector<float> weights(terms.size(), 1.0f);
  EXPECT_EQ(e.embed_terms(terms, weights).size(), 128u);
  weights.pop_back();
  EXPECT_THROW(e.embed_terms(terms, weights), std::invalid_argument);
  EXPECT_THROW(e.embed_terms(terms, {}), std::invalid_argument);
}

// Features are tallied in a per-thread table that grows with the text: a long text must
// leave nothing behind that changes the next, shorter one.
TEST(HashEmbedder, ALongTextLeavesNoTraceOnTheNextEmbedding) {
  HashEmbedder e;
  std::string long_text;
  for (int i = 0; i < 3000; ++i) long_text += "word" + std::to_string(i % 700) + " ";
  const std::string short_text = "stale answers are refreshed in the background";
  std::vector<float> fresh;
  std::thread([&] { fresh = e.embed(short_text); }).join();
  const auto long_first = e.embed(long_text);
  EXPECT_EQ(e.embed(short_text), fresh);
  EXPECT_EQ(e.embed(long_text), long_first);
  EXPECT_NEAR(norm(long_first), 1.0, 1e-5);
}

TEST(HashEmbedder, SimilarTextsScoreHigherThanUnrelatedOnes) {
  HashEmbedder e;
  auto query = e.embed("how do I configure the Redis cache TTL?");
  auto related = e.embed("Configuring cache TTLs: Redis entries expire after the hard TTL.");
  auto unrelated = e.embed("Knead the sourdough and let it proof overnight in the fridge.");
  EXPECT_GT(dot(query, related), 0.3);
  EXPECT_LT(std::abs(dot(query, unrelated)), 0.15);
  EXPECT_GT(dot(query, related), dot(query, unrelated) + 0.2);
}

TEST(HashEmbedder, StemmingAndCharacterGramsJoinWordForms) {
  HashEmbedder e;
  auto base = e.embed("index document");
  EXPECT_GT(dot(base, e.embed("indexing documents")), 0.8);
  EXPECT_GT(dot(e.embed("cache"), e.embed("cached")), 0.9);
  EXPECT_GT(dot(e.embed("caching"), e.embed("caches")), 0.8);
  // A typo still lands near the word through shared character n-grams.
  EXPECT_GT(dot(e.embed("kubernetes"), e.embed("kubernets")), 0.3);
  EXPECT_LT(std::abs(dot(e.embed("kubernetes"), e.embed("sourdough"))), 0.15);
}

TEST(HashEmbedder, WordOrderMattersThroughBigrams) {
  HashEmbedder e;
  auto a = e.embed("rate limit exceeded");
  auto same_words = e.embed("exceeded limit rate");
  EXPECT_LT(dot(a, same_words), 0.999);
  EXPECT_GT(dot(a, same_words), 0.5);
}

TEST(HashEmbedder, KeepsNonAsciiWords) {
  HashEmbedder e;
  auto v = e.embed("Ärger über Straßenbahn");
  EXPECT_NEAR(norm(v), 1.0, 1e-5);
  EXPECT_GT(dot(v, e.embed("straßenbahn")), 0.3);
}

TEST(HashEmbedder, IsSafeToUseFromManyThreads) {
  HashEmbedder e;
  const auto expected = e.embed("concurrent embedding from the pool");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (e.embed("concurrent embedding from the pool") != expected) ++mismatches;
        (void)e.embed("some other text " + std::to_string(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}
