#include "ragd/retrieval/corpus.hpp"

#include "ragd/retrieval/chunker.hpp"
#include "ragd/retrieval/embedder.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
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
  const ChangePosition third{"1600000000000-0", 3};
  auto removed = corpus.remove("missing", &third);
  ASSERT_TRUE(removed);
  EXPECT_FALSE(*removed);
  EXPECT_EQ(corpus.version(), 6u) << "behind the version: grows by one";
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

TEST(Corpus, ASnapshotRestoresTheSameDocumentsVersionAndSearches) {
  Corpus corpus(config(), kDim);
  const ChangePosition at{"1700000000000-2", 2};
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"volcano", "Volcanoes", "Magma rises through the crust.", R"({"k":1})"},
                                          {"tides", "Tides", "The Moon pulls the oceans."}}),
                         &at));
  auto data = corpus.snapshot();
  ASSERT_TRUE(data) << data.error().message;
  EXPECT_EQ(data->index_version, 2u);

  Corpus back(config(), kDim);
  ASSERT_TRUE(back.restore(std::move(*data)));
  EXPECT_EQ(back.version(), corpus.version());
  EXPECT_EQ(back.document_count(), 2u);
  EXPECT_EQ(back.document("volcano")->metadata, R"({"k":1})");
  EXPECT_EQ(lexical_ids(back, "moon oceans"), std::vector<std::string>{"tides"});
  // New keys do not collide with restored ones.
  ASSERT_TRUE(back.add(prepare(back, {{"bees", "", "Bees dance to show where flowers are."}}), nullptr));
  EXPECT_EQ(back.chunk_count(), corpus.chunk_count() + 1);

  auto again = back.snapshot();
  ASSERT_TRUE(again);
  EXPECT_FALSE(corpus.restore(std::move(*again))) << "restore into a corpus that holds documents";
}

MetadataFilter filter_of(const char* text) {
  auto f = MetadataFilter::parse(nlohmann::json::parse(text));
  EXPECT_TRUE(f) << text;
  return f ? *f : MetadataFilter{};
}

// What a query finds, as document ids in rank order.
std::vector<std::string> found_ids(const Corpus& corpus, const std::string& query, int top_k, SearchMode mode,
                                   const MetadataFilter* filter) {
  static const HashEmbedder embedder(kDim, config().analyzer);
  AnalyzedText terms;
  corpus.analyzer().analyze(query, terms);
  std::vector<float> vector;
  if (mode != SearchMode::lexical) vector = embedder.embed(query);
  auto hits = corpus.search(terms, vector, top_k, mode, filter);
  EXPECT_TRUE(hits) << (hits ? "" : hits.error().message);
  std::vector<std::string> ids;
  if (hits) {
    for (const auto& h : *hits) ids.push_back(h.doc_id);
  }
  return ids;
}

// Ten documents about volcanoes in French metadata that any volcano query ranks first, and
// five in English that mention volcanoes only in passing.
std::vector<Document> volcano_documents() {
  std::vector<Document> docs;
  for (int i = 0; i < 10; ++i) {
    docs.push_back({"fr-" + std::to_string(i), "Volcans",
                    "Volcano magma eruption: the volcano erupts magma and ash, volcano " + std::to_string(i) + ".",
                    R"({"lang":"fr","year":)" + std::to_string(2000 + i) + "}"});
  }
  for (int i = 0; i < 5; ++i) {
    docs.push_back({"en-" + std::to_string(i), "Travel",
                    "Our trip went through farms, rivers and towns, and once past a volcano, on day " +
                        std::to_string(i) + ".",
                    R"({"lang":"en","year":)" + std::to_string(2020 + i) + "}"});
  }
  return docs;
}

TEST(Corpus, AFilteredSearchReturnsTopKMatchingPassagesWhenTheBestUnfilteredHitsDoNotMatch) {
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, volcano_documents()), nullptr));
  const MetadataFilter english = filter_of(R"({"lang": "en"})");
  for (SearchMode mode : {SearchMode::lexical, SearchMode::dense, SearchMode::hybrid}) {
    const auto unfiltered = found_ids(corpus, "volcano magma eruption", 3, mode, nullptr);
    ASSERT_EQ(unfiltered.size(), 3u) << to_string(mode);
    for (const auto& id : unfiltered) {
      ASSERT_EQ(id.rfind("fr-", 0), 0u) << to_string(mode) << ": the unfiltered top 3 should all be French";
    }
    const auto filtered = found_ids(corpus, "volcano magma eruption", 3, mode, &english);
    EXPECT_EQ(filtered.size(), 3u) << to_string(mode) << ": top_k matching passages exist";
    for (const auto& id : filtered) EXPECT_EQ(id.rfind("en-", 0), 0u) << to_string(mode) << " returned " << id;
  }
  // Ranges and $in select inside retrieval as well: 2003..2005 of the French, top 5 asked.
  const MetadataFilter range = filter_of(R"({"year": {"$gte": 2003, "$lt": 2006}, "lang": {"$in": ["fr", "de"]}})");
  const auto ranged = found_ids(corpus, "volcano magma", 5, SearchMode::hybrid, &range);
  EXPECT_EQ(std::set<std::string>(ranged.begin(), ranged.end()), (std::set<std::string>{"fr-3", "fr-4", "fr-5"}));
}

TEST(Corpus, AFilterOnAnUnknownKeyMatchesNothing) {
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, volcano_documents()), nullptr));
  const MetadataFilter unknown = filter_of(R"({"colour": "red"})");
  for (SearchMode mode : {SearchMode::lexical, SearchMode::dense, SearchMode::hybrid}) {
    EXPECT_TRUE(found_ids(corpus, "volcano", 5, mode, &unknown).empty()) << to_string(mode);
  }
  const MetadataFilter empty;
  EXPECT_EQ(found_ids(corpus, "volcano", 5, SearchMode::hybrid, &empty).size(), 5u) << "the empty filter is no filter";
}

TEST(Corpus, FiltersReadMetadataRestoredFromASnapshotAndFollowReplacements) {
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, volcano_documents()), nullptr));
  auto data = corpus.snapshot();
  ASSERT_TRUE(data);
  Corpus back(config(), kDim);
  ASSERT_TRUE(back.restore(std::move(*data)));
  const MetadataFilter year = filter_of(R"({"year": 2021})");
  EXPECT_EQ(found_ids(back, "volcano", 5, SearchMode::hybrid, &year), std::vector<std::string>{"en-1"});
  // A replacement's new metadata is what filters see.
  ASSERT_TRUE(back.add(prepare(back, {{"en-1", "Travel", "A volcano trip.", R"({"lang":"en","year":1999})"}}),
                       nullptr));
  EXPECT_TRUE(found_ids(back, "volcano", 5, SearchMode::hybrid, &year).empty());
}

TEST(Corpus, ARepeatedFilterSeesEveryChangeSinceItsLastUse) {
  // Matching chunks are remembered per filter and version: each change must be seen.
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, volcano_documents()), nullptr));
  const MetadataFilter y2021 = filter_of(R"({"year": 2021})");
  const MetadataFilter same = filter_of(R"({"year": {"$in": [2021]}})");
  EXPECT_EQ(found_ids(corpus, "volcano", 5, SearchMode::hybrid, &y2021), std::vector<std::string>{"en-1"});
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"new", "Travel", "A volcano walk.", R"({"year":2021})"}}), nullptr));
  auto both = found_ids(corpus, "volcano", 5, SearchMode::hybrid, &y2021);
  EXPECT_EQ(std::set<std::string>(both.begin(), both.end()), (std::set<std::string>{"en-1", "new"}));
  ASSERT_TRUE(corpus.remove("en-1", nullptr));
  EXPECT_EQ(found_ids(corpus, "volcano", 5, SearchMode::lexical, &y2021), std::vector<std::string>{"new"});
  EXPECT_EQ(found_ids(corpus, "volcano", 5, SearchMode::lexical, &same), std::vector<std::string>{"new"});
  for (int i = 0; i < 12; ++i) {  // more filters than are remembered, then the first again
    const MetadataFilter other = filter_of(("{\"year\": " + std::to_string(1900 + i) + "}").c_str());
    EXPECT_TRUE(found_ids(corpus, "volcano", 5, SearchMode::lexical, &other).empty());
  }
  EXPECT_EQ(found_ids(corpus, "volcano", 5, SearchMode::dense, &y2021), std::vector<std::string>{"new"});
}

TEST(Corpus, BatchedFilteredQueriesGetTheirOwnMatchingPassages) {
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, volcano_documents()), nullptr));
  static const HashEmbedder embedder(kDim, config().analyzer);
  std::vector<CorpusQuery> queries(2);
  for (auto& q : queries) {
    corpus.analyzer().analyze("volcano magma eruption", q.terms);
    q.vector = embedder.embed("volcano magma eruption");
    q.top_k = 3;
    q.mode = SearchMode::hybrid;
  }
  queries[1].filter = std::make_shared<const MetadataFilter>(filter_of(R"({"lang": "en"})"));
  corpus.search_batch(queries);
  ASSERT_TRUE(queries[0].result && *queries[0].result);
  ASSERT_TRUE(queries[1].result && *queries[1].result);
  for (const auto& h : **queries[0].result) EXPECT_EQ(h.doc_id.rfind("fr-", 0), 0u);
  ASSERT_EQ((*queries[1].result)->size(), 3u);
  for (const auto& h : **queries[1].result) EXPECT_EQ(h.doc_id.rfind("en-", 0), 0u) << h.doc_id;
}

std::vector<std::string> page_ids(const DocumentPage& page) {
  std::vector<std::string> ids;
  for (const auto& d : page.documents) ids.push_back(d.id);
  return ids;
}

TEST(Corpus, ListsDocumentsInIdOrderByPages) {
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"b", "Bee", "Bees dance.", R"({"k":1})"},
                                          {"a", "Ant", "Ants march."},
                                          {"d", "Dog", "Dogs bark."},
                                          {"c", "Cat", "Cats purr."},
                                          {"e", "Eel", "Eels swim."}}),
                         nullptr));
  auto first = corpus.list_documents("", 2);
  EXPECT_EQ(page_ids(first), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.documents[1].title, "Bee");
  EXPECT_EQ(first.documents[1].metadata, R"({"k":1})");
  EXPECT_EQ(first.documents[1].chunks, 1u);
  auto second = corpus.list_documents("b", 2);
  EXPECT_EQ(page_ids(second), (std::vector<std::string>{"c", "d"}));
  EXPECT_TRUE(second.more);
  auto last = corpus.list_documents("d", 2);
  EXPECT_EQ(page_ids(last), std::vector<std::string>{"e"});
  EXPECT_FALSE(last.more);
  EXPECT_TRUE(corpus.list_documents("e", 2).documents.empty());
  EXPECT_FALSE(corpus.list_documents("", 5).more) << "exactly a page's worth left";
}

TEST(Corpus, AListingGoesOnAfterItsLastIdWhateverChangesBetweenPages) {
  Corpus corpus(config(), kDim);
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"a", "", "Ants."}, {"c", "", "Cats."}, {"e", "", "Eels."},
                                          {"g", "", "Geese."}}),
                         nullptr));
  auto first = corpus.list_documents("", 2);
  ASSERT_EQ(page_ids(first), (std::vector<std::string>{"a", "c"}));
  // Between pages: one added before the cursor, one after it; the last one listed removed.
  ASSERT_TRUE(corpus.add(prepare(corpus, {{"b", "", "Bees."}, {"f", "", "Foxes."}}), nullptr));
  ASSERT_TRUE(corpus.remove("c", nullptr));
  auto rest = corpus.list_documents("c", 10);
  EXPECT_EQ(page_ids(rest), (std::vector<std::string>{"e", "f", "g"})) << "nothing repeated, nothing skipped";
}

}  // namespace
}  // namespace ragd::retrieval
