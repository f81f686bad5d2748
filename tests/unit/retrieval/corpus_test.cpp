#include "ragd/retrieval/corpus.hpp"

#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/embedder.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ragd::retrieval {
namespace {

constexpr int kDim = 64;

RetrievalConfig config() {
  RetrievalConfig c;
  c.embedding_dim = kDim;
  return c;
}

// What a writer does before Corpus::add: cut, key, tokenise, embed (here, synchronously).
PreparedDocuments prepare(Corpus& corpus, std::vector<Document> docs) {
  static const HashEmbedder embedder(kDim, config().analyzer);
  PreparedDocuments p;
  for (const auto& d : docs) {
    for (auto& c : chunk_document(d, config().chunker)) p.chunks.push_back(std::move(c));
  }
  const std::int64_t first = corpus.allocate_keys(p.chunks.size());
  p.vectors.resize(p.chunks.size() * kDim);
  for (std::size_t i = 0; i < p.chunks.size(); ++i) {
    p.chunks[i].id = first + static_cast<std::int64_t>(i);
    const std::string text = indexed_text(p.chunks[i]);
    p.lexical.push_back(corpus.prepare_lexical(p.chunks[i].id, text, p.chunks[i].doc_id));
    embedder.embed_into(text, p.vectors.data() + i * kDim);
  }
  p.documents = std::move(docs);
  return p;
}

std::vector<std::string> lexical_ids(const Corpus& corpus, const std::string& query) {
  AnalyzedText terms;
  corpus.analyzer().analyze(query, terms);
  auto hits = corpus.search(terms, {}, 5, SearchMode::lexical);
  EXPECT_TRUE(hits);
  std::vector<std::string> ids;
  for (const auto& h : *hits) ids.push_back(h.doc_id);
  return ids;
}

TEST(Corpus, AddsReplacesAndRemovesDocumentsMovingTheVersionOncePerChange) {
  Corpus corpus(config(), kDim);
  auto added = corpus.add(prepare(corpus, {{"volcano", "Volcanoes", "Magma rises through the crust and erupts."},
                                           {"tides", "Tides", "The Moon pulls the oceans into tides."}}),
                          nullptr);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->documents, 2u);
  EXPECT_EQ(added->index_version, 1u);
  EXPECT_EQ(lexical_ids(corpus, "magma"), std::vector<std::string>{"volcano"});

  auto replaced = corpus.add(prepare(corpus, {{"volcano", "Volcanoes", "Lava cools into basalt."}}), nullptr);
  ASSERT_TRUE(replaced);
  EXPECT_EQ(corpus.version(), 2u);
  EXPECT_EQ(corpus.document_count(), 2u);
  EXPECT_TRUE(lexical_ids(corpus, "magma").empty()) << "the replaced version is still searchable";
  EXPECT_EQ(corpus.document("volcano")->text, "Lava cools into basalt.");

  auto removed = corpus.remove("tides", nullptr);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_EQ(corpus.version(), 3u);
  auto nothing = corpus.remove("tides", nullptr);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(*nothing);
  EXPECT_EQ(corpus.version(), 3u) << "a remove that changed nothing moved the version";
  EXPECT_FALSE(corpus.document("tides"));
}

TEST(Corpus, AChangeAtALogPositionTakesItsSequenceAsTheVersionAndNeverGoesBack) {
  Corpus corpus(config(), kDim);
  const ChangePosition fifth{"1700000000000-0", 5};
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"a", "", "alpha text"}}), &fifth));
  EXPECT_EQ(corpus.version(), 5u);
  EXPECT_EQ(corpus.position().stream_id, "1700000000000-0");
  const ChangePosition third{"1600000000000-0", 3};
  auto removed = corpus.remove("missing", &third);
  ASSERT_TRUE(removed);
  EXPECT_FALSE(*removed);
  EXPECT_EQ(corpus.version(), 6u) << "behind the version: grows by one";
  EXPECT_EQ(corpus.position().sequence, 3u) << "a remove that found nothing still records its position";
}

TEST(Corpus, VectorsOfTheWrongSizeChangeNothing) {
  Corpus corpus(config(), kDim);
  auto p = prepare(corpus, {{"a", "", "alpha text"}});
  p.vectors.pop_back();
  auto added = corpus.add(std::move(p), nullptr);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, Errc::internal);
  EXPECT_EQ(corpus.document_count(), 0u);
  EXPECT_EQ(corpus.version(), 0u);
}

TEST(Corpus, ASnapshotRestoresTheSameDocumentsPositionAndSearches) {
  Corpus corpus(config(), kDim);
  const ChangePosition at{"1700000000000-2", 2};
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"volcano", "Volcanoes", "Magma rises through the crust.", R"({"k":1})"},
                                          {"tides", "Tides", "The Moon pulls the oceans."}}),
                         &at));
  auto data = corpus.snapshot({kDim, 7});
  ASSERT_TRUE(data) << data.error().message;
  EXPECT_EQ(data->embedder_version, 7u);

  Corpus back(config(), kDim);
  ASSERT_TRUE(back.restore(std::move(*data)));
  EXPECT_EQ(back.version(), corpus.version());
  EXPECT_EQ(back.position().stream_id, at.stream_id);
  EXPECT_EQ(back.document_count(), 2u);
  EXPECT_EQ(back.document("volcano")->metadata, R"({"k":1})");
  EXPECT_EQ(lexical_ids(back, "moon oceans"), std::vector<std::string>{"tides"});
  // New keys do not collide with restored ones.
  ASSERT_TRUE(back.add(prepare(back, {{"bees", "", "Bees dance to show where flowers are."}}), nullptr));
  EXPECT_EQ(back.chunk_count(), corpus.chunk_count() + 1);

  auto again = back.snapshot({kDim, 7});
  ASSERT_TRUE(again);
  EXPECT_FALSE(corpus.restore(std::move(*again))) << "restore into a corpus that holds documents";
}

}  // namespace
}  // namespace ragd::retrieval
