#include "ragd/retrieval/text_analysis.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace ragd;
using namespace ragd::retrieval;

using Terms = std::vector<std::string>;

TEST(TextAnalysis, LowerCasesDropsStopWordsAndStems) {
  const TextAnalyzer english;
  EXPECT_EQ(english.analyze("The Caches were CACHING cached pages!"), (Terms{"cach", "cach", "cach", "page"}));
  EXPECT_TRUE(english.analyze("what is the").empty());
  EXPECT_EQ(english.analyze("naïve café"), (Terms{"naïv", "café"}));
}

// The light suffix stripper of version 1 left "runn"-style stems and missed derivations;
// Snowball's English (Porter2) stemmer joins them.
TEST(TextAnalysis, SnowballJoinsInflectionsAndDerivations) {
  const TextAnalyzer english;
  EXPECT_EQ(english.analyze("running runs run"), (Terms{"run", "run", "run"}));
  EXPECT_EQ(english.analyze("generalization generalizations generalize"), (Terms{"general", "general", "general"}));
  EXPECT_EQ(english.analyze("studies studying studied"), (Terms{"studi", "studi", "studi"}));
}

TEST(TextAnalysis, FindsEveryKindOfStopWordAndNothingElse) {
  const TextAnalyzer english;
  for (const char* w : {"a", "i", "the", "about", "actually", "something", "yours", "whom", "please"}) {
    EXPECT_TRUE(english.is_stop_word(w)) << w;
  }
  for (const char* w : {"", "volcano", "abou", "abouts", "yourss", "somethings", "th", "cache", "z"}) {
    EXPECT_FALSE(english.is_stop_word(w)) << w;
  }
}

TEST(TextAnalysis, StopWordsCanBeKept) {
  const TextAnalyzer keep(AnalyzerConfig{"english", false});
  EXPECT_EQ(keep.analyze("what is the cache"), (Terms{"what", "is", "the", "cach"}));
  EXPECT_FALSE(keep.is_stop_word("the"));
  EXPECT_NE(keep.identity(), TextAnalyzer().identity());
}

TEST(TextAnalysis, EachLanguageHasItsOwnStemmerAndStopWords) {
  const TextAnalyzer english;
  const TextAnalyzer french(AnalyzerConfig{"french", true});
  const TextAnalyzer german(AnalyzerConfig{"german", true});
  // French: articles dropped, plural and feminine forms joined; Latin-1 capitals lowered.
  EXPECT_EQ(french.analyze("Les continents et la continentale"), (Terms{"continent", "continental"}));
  EXPECT_EQ(french.analyze("ÉCOLE école"), (Terms{"écol", "écol"}));
  EXPECT_EQ(german.analyze("die Häuser und das Haus"), (Terms{"haus", "haus"}));
  // "die" is a German stop word, an English word.
  EXPECT_TRUE(german.is_stop_word("die"));
  EXPECT_FALSE(english.is_stop_word("die"));
  EXPECT_EQ(english.identity(), "english+stop/" + std::to_string(kTextAnalysisVersion));
  EXPECT_EQ(french.identity(), "french+stop/" + std::to_string(kTextAnalysisVersion));
  EXPECT_THROW(TextAnalyzer(AnalyzerConfig{"klingon", true}), std::invalid_argument);
}

TEST(TextAnalysis, EveryConfiguredLanguageHasAStemmer) {
  for (const char* language : kAnalyzerLanguages) {
    const TextAnalyzer analyzer(AnalyzerConfig{language, true});
    EXPECT_EQ(analyzer.analyze("x42").size(), 1u) << language;
  }
}

// Each thread stems with its own Snowball stemmer: concurrent analyses agree.
TEST(TextAnalysis, ConcurrentAnalysesGiveTheSameTerms) {
  const TextAnalyzer english;
  const std::string text = "Replicas replicate the replicated documents while indexing continues";
  const Terms expected = english.analyze(text);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) mismatches[t] += english.analyze(text) != expected ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}
