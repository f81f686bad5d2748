// The embedding cache's pure parts: the text a vector is cached under and the bytes it is
// stored as. The cache in front of a real embedder and a real Redis is
// tests/integration/embedding_cache_test.cpp.
#include "ragd/retrieval/embedding_cache.hpp"

#include <gtest/gtest.h>

namespace ragd::retrieval {
namespace {

TEST(NormalizeEmbeddingText, FoldsWhitespaceRunsAndTrims) {
  EXPECT_EQ(normalize_embedding_text("  What is\t\n ragd?  "), "What is ragd?");
  EXPECT_EQ(normalize_embedding_text("Case Stays"), "Case Stays");
  EXPECT_EQ(normalize_embedding_text(" \n "), "");
}

TEST(EncodeVector, RoundTripsAndRejectsAnotherSize) {
  std::vector<float> v = {0.5f, -0.25f, 1.0f};
  auto back = decode_vector(encode_vector(v), 3);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, v);
  EXPECT_FALSE(decode_vector(encode_vector(v), 4).has_value());
}
}  // namespace
}  // namespace ragd::retrieval
