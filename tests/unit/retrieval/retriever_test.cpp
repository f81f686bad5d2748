#include "ragd/retrieval/retriever.hpp"

#include "ragd/retrieval/chunker.hpp"
#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

using namespace ragd;
using namespace ragd::retrieval;
namespace asio = boost::asio;

namespace {

RetrievalConfig small_config() {
  RetrievalConfig c;
  c.search_threads = 2;
  c.chunker.target_chars = 400;
  c.chunker.overlap_chars = 60;
  return c;
}

// Ten documents on unrelated topics, each with a few paragraphs, written the way people
// write documentation; the questions below are phrased the way people ask.
std::vector<Document> corpus() {
  return {
      {"sourdough", "Baking sourdough bread",
       "A sourdough starter is a culture of wild yeast and lactic acid bacteria living in flour "
       "and water. Feed the starter every day with equal weights of flour and water, and keep it "
       "at room temperature so it stays active and bubbly.\n\n"
       "Mix the dough with an active starter, rest it, then stretch and fold every half hour. "
       "Let the loaf proof slowly, overnight in the fridge, before baking it in a very hot Dutch "
       "oven. Steam in the first minutes gives the crust its oven spring."},
      {"tides", "Ocean tides",
       "Tides are the regular rise and fall of the sea level along the coast. They are caused by "
       "the gravitational pull of the Moon, and to a lesser degree the Sun, on the oceans.\n\n"
       "Most coasts see two high tides and two low tides every day. When the Sun and Moon line "
       "up, at new and full moon, the tidal range is largest: these are spring tides. At the "
       "quarter moons the range is smallest: neap tides."},
      {"photosynthesis", "Photosynthesis",
       "Photosynthesis is how plants, algae and some bacteria turn light energy into chemical "
       "energy. Chlorophyll in the chloroplasts absorbs sunlight.\n\n"
       "Using that energy, the plant combines carbon dioxide from the air with water from its "
       "roots to make glucose, a sugar, and releases oxygen as a by-product. The light reactions "
       "make ATP; the Calvin cycle fixes carbon into sugar."},
      {"tcp", "The TCP three-way handshake",
       "Before two hosts exchange data over TCP they open a connection with a three-way "
       "handshake. The client sends a SYN packet with its initial sequence number.\n\n"
       "The server answers with a SYN-ACK packet that acknowledges the client's sequence number "
       "and carries its own. The client replies with an ACK, and the connection is established. "
       "Closing uses FIN packets from each side."},
      {"bees", "How honey bees communicate",
       "Honey bees live in colonies with one queen, thousands of female worker bees and some "
       "drones. Worker bees forage for nectar and pollen from flowers.\n\n"
       "A forager that finds good flowers returns to the hive and performs the waggle dance. "
       "The angle of the dance tells the other bees the direction of the food relative to the "
       "sun, and the length of the waggle run tells them the distance."},
      {"volcano", "Why volcanoes erupt",
       "A volcano erupts when magma, molten rock from deep underground, rises to the surface. "
       "Magma is lighter than the solid rock around it, so it pushes upward.\n\n"
       "Gases such as water vapour and carbon dioxide dissolved in the magma expand as the "
       "pressure drops. In sticky, silica-rich magma the gas cannot escape, pressure builds up, "
       "and the eruption is explosive; runny basalt lava flows out gently."},
      {"chess", "Chess openings",
       "The opening is the first phase of a chess game. Good openings develop the knights and "
       "bishops quickly, fight for the centre and castle the king to safety.\n\n"
       "Against 1.e4, Black's most popular reply is the Sicilian Defence, 1...c5, which fights "
       "for the centre asymmetrically. The French Defence and the Caro-Kann are solid "
       "alternatives for Black. White often chooses the Ruy Lopez or the Queen's Gambit."},
      {"marathon", "Training for a marathon",
       "Training for a marathon takes about sixteen to twenty weeks. Build your weekly mileage "
       "gradually, by no more than ten percent a week, up to forty or fifty miles a week.\n\n"
       "The long run is the key workout: extend it each week to about twenty miles, three weeks "
       "before the race. Taper by cutting your mileage in the last two weeks so your legs are "
       "fresh on race day. Practise drinking and eating gels on long runs."},
      {"interest", "Compound interest",
       "Compound interest is interest earned on both the money you saved and the interest it "
       "has already earned. Over many years your savings grow exponentially rather than in a "
       "straight line.\n\n"
       "The future value is the principal times one plus the rate, raised to the number of "
       "periods. At seven percent a year, money doubles roughly every ten years: the rule of 72 "
       "says divide 72 by the rate to estimate the doubling time."},
      {"git", "Rewriting history with git rebase",
       "git rebase moves a series of commits onto a new base commit. Use it to keep a feature "
       "branch up to date with main without merge commits.\n\n"
       "Interactive rebase, git rebase -i, lets you reorder, squash, edit or drop commits, "
       "rewriting your branch's history before you share it. Never rebase commits that others "
       "have already pulled; after rewriting, push with --force-with-lease."},
  };
}

std::string top_doc(const Retriever& r, const std::string& question) {
  auto hits = r.search_sync(question, 3);
  EXPECT_TRUE(hits) << (hits ? "" : hits.error().message);
  if (!hits || hits->empty()) return "<none>";
  return hits->front().doc_id;
}

}  // namespace

TEST(Retriever, NaturalQuestionsFindTheRightDocumentFirst) {
  Retriever r(small_config());
  auto stats = r.ingest_sync(corpus());
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->documents, 10u);
  EXPECT_GE(stats->chunks, 10u);

  const std::vector<std::pair<std::string, std::string>> questions = {
      {"How often should I feed my sourdough starter?", "sourdough"},
      {"Why does the sea rise and fall twice a day?", "tides"},
      {"What are spring tides?", "tides"},
      {"How do plants make sugar from sunlight?", "photosynthesis"},
      {"What packets are sent when a TCP connection is opened?", "tcp"},
      {"How do bees tell each other where the flowers are?", "bees"},
      {"What makes a volcano explode?", "volcano"},
      {"What should Black play against 1.e4?", "chess"},
      {"How many miles per week should I run to prepare for a marathon?", "marathon"},
      {"How long does it take for my savings to double?", "interest"},
      {"How do I squash commits on my branch?", "git"},
      {"what does the waggle dance mean", "bees"},
      {"Is the crust better with steam?", "sourdough"},
      {"What is the role of chlorophyll?", "photosynthesis"},
      {"when do I taper before race day", "marathon"},
      {"is it safe to force push after rebasing", "git"},
      {"what is lava made of", "volcano"},
      {"how does the moon affect the ocean", "tides"},
  };
  int correct = 0;
  for (const auto& [question, expected] : questions) {
    const std::string got = top_doc(r, question);
    EXPECT_EQ(got, expected) << "question: " << question;
    correct += got == expected;
  }
  EXPECT_EQ(correct, static_cast<int>(questions.size()));
}

TEST(Retriever, HitsAreOrderedUniqueAndCarryTheirChunk) {
  Retriever r(small_config());
  ASSERT_TRUE(r.ingest_sync(corpus()));
  auto hits = r.search_sync("sourdough starter flour water", 5);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 5u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < hits->size(); ++i) {
    const Hit& h = (*hits)[i];
    EXPECT_TRUE(ids.insert(h.chunk_id).second) << "duplicate " << h.chunk_id;
    EXPECT_TRUE(h.chunk_id.starts_with(h.doc_id + "#"));
    EXPECT_FALSE(h.text.empty());
    if (i > 0) {
      EXPECT_LE(h.score, (*hits)[i - 1].score);
    }
  }
  EXPECT_EQ(hits->front().doc_id, "sourdough");
  EXPECT_EQ(hits->front().title, "Baking sourdough bread");
  EXPECT_NE(hits->front().text.find("starter"), std::string::npos);
  // In dense mode the score is the cosine (hybrid scores are RRF sums, far below 1).
  auto dense = r.search_sync("sourdough starter flour water", 5, SearchMode::dense);
  ASSERT_TRUE(dense);
  ASSERT_FALSE(dense->empty());
  EXPECT_GT(dense->front().score, 0.2);
  EXPECT_LE(dense->front().score, 1.0 + 1e-6);
}

TEST(Retriever, SameTextUnderTwoIdsIsReturnedOnce) {
  Retriever r(small_config());
  ASSERT_TRUE(r.ingest_sync({{"a", "T", "Unique words about zeppelins and airships."},
                             {"b", "T", "Unique words about zeppelins and airships."}}));
  auto hits = r.search_sync("zeppelins airships", 5);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->size(), 1u);
}

TEST(Retriever, ReingestingADocumentReplacesItsChunks) {
  Retriever r(small_config());
  ASSERT_TRUE(r.ingest_sync(corpus()));
  const auto chunks_before = r.chunk_count();
  const auto v1 = r.version();

  auto stats = r.ingest_sync({{"tides", "Ocean tides", "Tides now only talk about lighthouses."}});
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->documents, 1u);
  EXPECT_EQ(stats->chunks, 1u);
  EXPECT_EQ(stats->index_version, v1 + 1);
  EXPECT_EQ(r.version(), v1 + 1);
  EXPECT_EQ(r.document_count(), 10u);
  const auto old_tides_chunks = chunk_document(corpus()[1], small_config().chunker).size();
  EXPECT_EQ(r.chunk_count(), chunks_before - old_tides_chunks + 1);

  auto hits = r.search_sync("spring tides neap tides moon", 10);
  ASSERT_TRUE(hits);
  for (const auto& h : *hits) {
    if (h.doc_id == "tides") {
      EXPECT_EQ(h.text, "Tides now only talk about lighthouses.");
    }
  }
  EXPECT_EQ(top_doc(r, "lighthouses"), "tides");
}

TEST(Retriever, RemoveDropsTheDocumentAndBumpsTheVersion) {
  Retriever r(small_config());
  ASSERT_TRUE(r.ingest_sync(corpus()));
  const auto v = r.version();
  auto removed = r.remove_sync("git");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_EQ(r.version(), v + 1);
  EXPECT_EQ(r.document_count(), 9u);
  auto hits = r.search_sync("git rebase squash commits", 10);
  ASSERT_TRUE(hits);
  for (const auto& h : *hits) {
    EXPECT_NE(h.doc_id, "git");
  }

  auto again = r.remove_sync("git");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(r.version(), v + 1) << "a remove that changed nothing must not bump the version";
}

TEST(Retriever, DocumentIdsThatAreBlankOrHoldControlCharactersIndexNothing) {
  Retriever r(small_config());
  for (std::string id : {std::string(" "), std::string("\t\n"), std::string("a\0b", 3), std::string("\x1b[31mred"),
                         std::string("line\r\n"), std::string("del\x7f")}) {
    auto stats = r.ingest_sync({{id, "", "Some text about volcanoes."}});
    ASSERT_FALSE(stats) << "accepted an id of " << id.size() << " bytes";
    EXPECT_EQ(stats.error().code, Errc::bad_request);
    EXPECT_EQ(stats.error().message.rfind("documents[0].id ", 0), 0u) << stats.error().message;
  }
  EXPECT_EQ(r.document_count(), 0u);
  ASSERT_TRUE(r.ingest_sync({{"docs/operations.md", "", "Some text about volcanoes."}}));
  EXPECT_EQ(r.document_count(), 1u);
}

TEST(Retriever, InvalidDocumentsIndexNothingAndNameTheField) {
  Retriever r(small_config());
  auto expect_rejected = [&](std::vector<Document> docs, const std::string& needle) {
    auto stats = r.ingest_sync(std::move(docs));
    ASSERT_FALSE(stats);
    EXPECT_EQ(stats.error().code, Errc::bad_request);
    EXPECT_NE(stats.error().message.find(needle), std::string::npos) << stats.error().message;
  };
  expect_rejected({{"ok", "", "fine"}, {"", "", "text"}}, "documents[1].id is empty");
  expect_rejected({{"ok", "", "fine"}, {std::string(257, 'x'), "", "text"}}, "documents[1].id is longer");
  expect_rejected({{"ok", "", "fine"}, {"b", "", "  \n"}}, "documents[1].text is empty");
  expect_rejected({{"ok", "", "fine"}, {"ok", "", "again"}}, "documents[1].id repeats documents[0].id");
  expect_rejected({}, "documents is empty");

  RetrievalConfig tiny = small_config();
  tiny.max_document_chars = 10;
  Retriever small(tiny);
  auto big = small.ingest_sync({{"ok", "", "short"}, {"big", "", "this text is too long"}});
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("documents[1].text is longer than 10"), std::string::npos);
  EXPECT_EQ(small.chunk_count(), 0u);

  EXPECT_EQ(r.chunk_count(), 0u);
  EXPECT_EQ(r.document_count(), 0u);
  EXPECT_EQ(r.version(), 0u);
}

TEST(Retriever, SearchRejectsBadArgumentsAndHandlesEmptyIndex) {
  Retriever r(small_config());
  auto empty_index = r.search_sync("anything", 3);
  ASSERT_TRUE(empty_index);
  EXPECT_TRUE(empty_index->empty());
  ASSERT_TRUE(r.ingest_sync(corpus()));
  EXPECT_EQ(r.search_sync("  ", 3).error().code, Errc::bad_request);
  EXPECT_EQ(r.search_sync("tides", 0).error().code, Errc::bad_request);
  auto stop_words_only = r.search_sync("what is it?", 3);
  ASSERT_TRUE(stop_words_only);
  EXPECT_TRUE(stop_words_only->empty());
}

TEST(Retriever, CoroutineApiRunsOnThePoolAndResumesOnTheCaller) {
  Retriever r(small_config());
  const auto io_thread = std::this_thread::get_id();
  auto outcome = test::run_coro<std::string>([&](asio::io_context& io) -> asio::awaitable<std::string> {
    auto stats = co_await r.ingest(corpus());
    if (!stats) co_return "ingest failed: " + stats.error().message;
    if (std::this_thread::get_id() != io_thread || !io.get_executor().running_in_this_thread()) {
      co_return "ingest resumed off the caller's io_context";
    }
    auto hits = co_await r.search("What makes a volcano explode?", 3);
    if (!hits || hits->empty()) co_return "search failed";
    if (std::this_thread::get_id() != io_thread) co_return "search resumed on another thread";
    auto removed = co_await r.remove("volcano");
    if (!removed || !*removed) co_return "remove failed";
    co_return hits->front().doc_id;
  });
  EXPECT_EQ(outcome, "volcano");
  EXPECT_EQ(r.document_count(), 9u);
  EXPECT_EQ(r.version(), 2u);
}

TEST(Retriever, ASearchThePoolCannotStartInTimeIsADeadlineAndLeavesNoTrace) {
  RetrievalConfig c = small_config();
  c.search_threads = 1;
  Retriever r(c);
  std::promise<void> release;
  auto outcome = test::run_coro<std::string>([&](asio::io_context&) -> asio::awaitable<std::string> {
    if (!co_await r.ingest(corpus())) co_return "ingest failed";
    // The only pool thread is held, so the search cannot start before its timeout.
    asio::post(r.pool_executor(), [held = release.get_future().share()] { held.wait(); });
    for (auto mode : {SearchMode::hybrid, SearchMode::dense, SearchMode::lexical}) {
      auto late = co_await r.retrieve("What makes a volcano explode?", 3, mode,
                                      std::chrono::milliseconds(50));
      if (late || late.error().code != Errc::deadline_exceeded ||
          late.error().message != "retrieval did not finish in time") {
        co_return std::string("expected a deadline in mode ") + std::string(to_string(mode));
      }
    }
    auto none = co_await r.retrieve("What makes a volcano explode?", 3, SearchMode::hybrid,
                                    std::chrono::milliseconds(0));
    if (none || none.error().code != Errc::deadline_exceeded) co_return "a zero timeout did not fail at once";
    release.set_value();
    // The late searches finish on the pool and are dropped; the next one is answered.
    auto found = co_await r.retrieve("What makes a volcano explode?", 3, SearchMode::hybrid,
                                     std::chrono::seconds(10));
    if (!found || found->hits.empty()) co_return "search after the pool came back failed";
    co_return found->hits.front().doc_id;
  });
  EXPECT_EQ(outcome, "volcano");
}

TEST(Retriever, IngestRefusesMoreDocumentsThanARequestMayCarry) {
  RetrievalConfig c = small_config();
  c.max_documents_per_request = 2;
  Retriever r(c);
  auto stats = test::run_coro<Result<IngestStats>>([&](asio::io_context&) {
    return r.ingest({{"a", "", "x"}, {"b", "", "y"}, {"c", "", "z"}});
  });
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, Errc::bad_request);
  EXPECT_EQ(r.chunk_count(), 0u);
}

TEST(Retriever, ConcurrentSearchesAndIngestsStayConsistent) {
  Retriever r(small_config());
  ASSERT_TRUE(r.ingest_sync(corpus()));
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto hits = r.search_sync("How do bees tell each other where the flowers are?", 3);
        if (!hits || hits->empty() || hits->front().doc_id != "bees") ++failures;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    auto docs = corpus();
    docs.resize(3);  // keep re-posting sourdough, tides, photosynthesis
    ASSERT_TRUE(r.ingest_sync(std::move(docs)));
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(r.document_count(), 10u);
  EXPECT_EQ(r.version(), 41u);
}
