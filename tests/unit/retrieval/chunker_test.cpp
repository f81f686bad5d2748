#include "ragd/retrieval/chunker.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace ragd;
using namespace ragd::retrieval;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

ChunkerConfig config(std::size_t target, std::size_t overlap) {
  ChunkerConfig c;
  c.target_chars = target;
  c.overlap_chars = overlap;
  return c;
}

// The invariants every chunking must keep; `max_size` is the target (no giant words).
void expect_invariants(const Document& doc, const std::vector<Chunk>& chunks, std::size_t max_size) {
  std::vector<bool> covered(doc.text.size(), false);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    SCOPED_TRACE("chunk " + std::to_string(i));
    EXPECT_EQ(c.position, static_cast<int>(i));
    EXPECT_EQ(c.chunk_id, doc.id + "#" + std::to_string(i));
    EXPECT_EQ(c.doc_id, doc.id);
    ASSERT_FALSE(c.text.empty());
    ASSERT_LE(c.offset + c.text.size(), doc.text.size());
    EXPECT_EQ(doc.text.compare(c.offset, c.text.size(), c.text), 0) << "not a verbatim slice";
    EXPECT_LE(c.text.size(), max_size);
    EXPECT_FALSE(is_space(c.text.front()));
    EXPECT_FALSE(is_space(c.text.back()));
    // Whole words: the bytes just outside the chunk are whitespace (or the document's ends).
    if (c.offset > 0) {
      EXPECT_TRUE(is_space(doc.text[c.offset - 1])) << "starts mid-word";
    }
    const std::size_t end = c.offset + c.text.size();
    if (end < doc.text.size()) {
      EXPECT_TRUE(is_space(doc.text[end])) << "ends mid-word";
    }
    for (std::size_t p = c.offset; p < end; ++p) covered[p] = true;
  }
  for (std::size_t p = 0; p < doc.text.size(); ++p) {
    if (!is_space(doc.text[p])) {
      ASSERT_TRUE(covered[p]) << "byte " << p << " is in no chunk";
    }
  }
}

std::string sentence(std::mt19937& rng, int words) {
  static const char* kWords[] = {"redis", "queue", "worker", "gateway", "cache", "index", "the",
                                 "answer", "stream", "deadline", "profile", "a", "chunk",
                                 "embedding", "retrieval", "latency", "is", "of", "vector"};
  std::uniform_int_distribution<int> pick(0, std::size(kWords) - 1);
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i > 0) s += ' ';
    s += kWords[pick(rng)];
  }
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s + ".";
}

}  // namespace

TEST(Chunker, ShortDocumentIsOneChunk) {
  Document doc{"faq", "FAQ", "  Short answer.\n"};
  auto chunks = chunk_document(doc, config(800, 120));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].chunk_id, "faq#0");
  EXPECT_EQ(chunks[0].title, "FAQ");
  EXPECT_EQ(chunks[0].text, "Short answer.");
  EXPECT_EQ(chunks[0].offset, 2u);
  EXPECT_EQ(chunks[0].id, 0);
}

TEST(Chunker, BlankDocumentHasNoChunks) {
  EXPECT_TRUE(chunk_document(Document{"d", "t", ""}, config(800, 120)).empty());
  EXPECT_TRUE(chunk_document(Document{"d", "t", " \n\t\n"}, config(800, 120)).empty());
}

TEST(Chunker, RespectsTargetSizeCoversEverythingAndNeverSplitsWords) {
  std::mt19937 rng(42);
  std::string text;
  for (int p = 0; p < 30; ++p) {
    std::uniform_int_distribution<int> sentences(1, 6), words(3, 25);
    const int n = sentences(rng);
    for (int s = 0; s < n; ++s) text += (s ? " " : "") + sentence(rng, words(rng));
    text += p % 7 == 3 ? "\n" : "\n\n";
  }
  Document doc{"random", "Random", text};
  for (auto [target, overlap] : {std::pair<std::size_t, std::size_t>{800, 120}, {300, 60},
                                 {200, 0}, {120, 40}, {1000, 300}}) {
    SCOPED_TRACE("target " + std::to_string(target) + " overlap " + std::to_string(overlap));
    auto chunks = chunk_document(doc, config(target, overlap));
    ASSERT_GT(chunks.size(), 1u);
    expect_invariants(doc, chunks, target);
  }
}

TEST(Chunker, PrefersParagraphThenSentenceBoundaries) {
  const std::string p1 = "First paragraph talks about the queue. It has two sentences.";
  const std::string p2 = "Second paragraph is about the cache and nothing else at all.";
  Document doc{"d", "", p1 + "\n\n" + p2};
  auto chunks = chunk_document(doc, config(100, 0));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, p1);
  EXPECT_EQ(chunks[1].text, p2);

  Document one_paragraph{"d", "", "Alpha beta gamma delta epsilon. Zeta eta theta iota kappa lambda mu nu xi."};
  auto by_sentence = chunk_document(one_paragraph, config(50, 0));
  ASSERT_EQ(by_sentence.size(), 2u);
  EXPECT_EQ(by_sentence[0].text, "Alpha beta gamma delta epsilon.");
}

TEST(Chunker, ConsecutiveChunksOverlapOnWordBoundaries) {
  std::mt19937 rng(3);
  std::string text;
  for (int s = 0; s < 40; ++s) text += sentence(rng, 12) + " ";
  Document doc{"d", "", text};
  const std::size_t overlap = 80;
  auto chunks = chunk_document(doc, config(300, overlap));
  ASSERT_GT(chunks.size(), 3u);
  expect_invariants(doc, chunks, 300);
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    const std::size_t prev_end = chunks[i - 1].offset + chunks[i - 1].text.size();
    EXPECT_LT(chunks[i].offset, prev_end) << "chunk " << i << " does not overlap";
    EXPECT_LE(prev_end - chunks[i].offset, overlap) << "chunk " << i << " overlaps too much";
    EXPECT_GT(chunks[i].offset, chunks[i - 1].offset);
  }
  auto no_overlap = chunk_document(doc, config(300, 0));
  for (std::size_t i = 1; i < no_overlap.size(); ++i) {
    EXPECT_GE(no_overlap[i].offset, no_overlap[i - 1].offset + no_overlap[i - 1].text.size());
  }
}

TEST(Chunker, HeadingsStartSectionsAndNameChunks) {
  const std::string text =
      "# ragd\n\nIntro text about the server.\n\n"
      "## Install\n\nRun the installer. It needs cmake.\n\n"
      "## Configure\n### Redis\n\nSet redis.url to your server.\n";
  Document doc{"readme", "README", text};
  auto chunks = chunk_document(doc, config(800, 100));
  expect_invariants(doc, chunks, 800);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].title, "README \u203a ragd");
  EXPECT_EQ(chunks[1].title, "README \u203a Install");
  EXPECT_TRUE(chunks[1].text.starts_with("## Install"));
  EXPECT_EQ(chunks[1].text.find("Configure"), std::string::npos) << "a chunk crossed a heading";
  // "## Configure" has nothing of its own, so it joins "### Redis", named by the nearer one.
  EXPECT_EQ(chunks[2].title, "README \u203a Redis");
  EXPECT_TRUE(chunks[2].text.starts_with("## Configure"));
}

TEST(Chunker, HeadingOnlyTitlesAndFencedCode) {
  const std::string text =
      "## Build\n\nCompile it:\n\n```sh\n# not a heading\ncmake --build build\n```\n\nDone.\n";
  Document doc{"d", "", text};
  auto chunks = chunk_document(doc, config(800, 0));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].title, "Build");
  EXPECT_EQ(chunk_title("Doc", ""), "Doc");
  EXPECT_EQ(chunk_title("", ""), "");
  EXPECT_EQ(chunk_title("Same", "Same"), "Same");
}

TEST(Chunker, LongSectionsSplitWithTheirHeadingInEveryTitle) {
  std::mt19937 rng(9);
  std::string text = "## Operations\n\n";
  for (int s = 0; s < 30; ++s) text += sentence(rng, 10) + (s % 5 == 4 ? "\n\n" : " ");
  Document doc{"ops", "Guide", text};
  auto chunks = chunk_document(doc, config(250, 50));
  ASSERT_GT(chunks.size(), 3u);
  expect_invariants(doc, chunks, 250);
  for (const auto& c : chunks) {
    EXPECT_EQ(c.title, "Guide \u203a Operations");
  }
}

TEST(Chunker, AWordLongerThanTheTargetStaysWholeUpToTheHardLimit) {
  const std::string word(150, 'x');
  Document doc{"d", "", "short words first " + word + " and after"};
  auto chunks = chunk_document(doc, config(100, 20));
  bool whole = false;
  for (const auto& c : chunks) whole = whole || c.text.find(word) != std::string::npos;
  EXPECT_TRUE(whole);
  expect_invariants(doc, chunks, word.size() + 20);  // the word plus at most the overlap

  // Garbage without spaces is cut, but never more than the hard limit per chunk and never
  // inside a UTF-8 sequence.
  std::string blob;
  for (int i = 0; i < 500; ++i) blob += "\xc3\xa9";  // é
  Document garbage{"g", "", blob};
  auto pieces = chunk_document(garbage, config(100, 20));
  ASSERT_GT(pieces.size(), 1u);
  std::size_t total = 0;
  for (const auto& c : pieces) {
    EXPECT_LE(c.text.size(), kMaxWordChunkFactor * 100);
    EXPECT_EQ(c.text.size() % 2, 0u) << "cut inside a UTF-8 sequence";
    total += c.text.size();
  }
  EXPECT_EQ(total, blob.size());
}
