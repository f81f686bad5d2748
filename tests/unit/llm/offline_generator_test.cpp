#include "ragd/llm/offline_generator.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

namespace ragd::llm {
namespace {

queue::Passage passage(std::string doc_id, std::string title, std::string text, double score) {
  queue::Passage p;
  p.doc_id = std::move(doc_id);
  p.chunk_id = p.doc_id + "#0";
  p.title = std::move(title);
  p.text = std::move(text);
  p.score = score;
  return p;
}

std::vector<queue::Passage> sample_passages() {
  return {
      passage("ops-guide", "Operations guide",
              "Workers are stateless processes. Each worker reads jobs from a Redis stream. "
              "Scaling is done by running more workers.",
              0.82),
      passage("cache-notes", "Caching",
              "The answer cache has two tiers. A stale entry is served while one background "
              "refresh runs. The default soft TTL is five minutes.",
              0.74),
      passage("faq", "FAQ", "Support is available on weekdays. Invoices are sent monthly.", 0.40),
  };
}

TEST(ContentTerms, DropsStopWordsLowercasesAndStemsSuffixes) {
  auto terms = content_terms("How are the Indexes indexed, and what about CACHES?");
  EXPECT_EQ(terms, (std::vector<std::string>{"index", "index", "cach"}));
  EXPECT_EQ(content_terms("indexing"), content_terms("index"));
  EXPECT_EQ(content_terms("queries"), content_terms("query"));
  EXPECT_TRUE(content_terms("what is the").empty());
}

TEST(OfflineGenerator, QuotesWholeSentencesOfWrappedMarkdownNeverFragments) {
  // A chunk as the chunker cuts one: it begins and ends mid-sentence, wraps its lines and
  // holds a table and a code block.
  std::vector<queue::Passage> passages = {passage(
      "ops", "Operations",
      "names a replica that has\n"
      "diverged. A replica that has diverged is reseeded\n"
      "from the snapshot of a healthy replica. Replicas that have diverged stop\n"
      "applying changes.\n"
      "\n"
      "| state | diverged replica |\n"
      "|---|---|\n"
      "| diverged | reseeded from a snapshot |\n"
      "\n"
      "```\n"
      "ragctl reseed --diverged replica. Reseeded.\n"
      "```\n"
      "A diverged replica answers /readyz with 503 and",
      0.9)};
  auto r = compose_extractive_answer("What happens to a replica that has diverged?", passages);
  EXPECT_EQ(r.text,
            "A replica that has diverged is reseeded from the snapshot of a healthy replica [1]. "
            "Replicas that have diverged stop applying changes [1].\n\nSources: [1] Operations (ops)");
}

TEST(OfflineGenerator, StreamsItsAnswerAsWordsThatJoinToTheAnswer) {
  std::vector<std::string> deltas;
  auto r = test::run_coro<Result<GenerateResult>>(
      [&deltas](boost::asio::io_context&) -> boost::asio::awaitable<Result<GenerateResult>> {
        OfflineGenerator gen;
        queue::Job job;
        job.question = "How do workers read jobs, and when is a stale entry served?";
        job.passages = sample_passages();
        co_return co_await gen.generate_stream(job, [&deltas](std::string_view d) { deltas.emplace_back(d); });
      });
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto whole = compose_extractive_answer("How do workers read jobs, and when is a stale entry served?",
                                               sample_passages());
  EXPECT_EQ(r->text, whole.text);
  std::string joined;
  for (const auto& d : deltas) joined += d;
  EXPECT_EQ(joined, whole.text);
  EXPECT_EQ(deltas.size(), static_cast<std::size_t>(approx_tokens(whole.text)));
  EXPECT_EQ(deltas.front(), "Each");
  EXPECT_EQ(deltas[1], " worker");
}

TEST(OfflineGenerator, AnswersWithTheSentenceHoldingTheAnswerAndCitesItsPassage) {
  auto r = compose_extractive_answer("What is the default soft TTL of the cache?", sample_passages());
  EXPECT_NE(r.text.find("The default soft TTL is five minutes [2]."), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("Sources: [2] Caching (cache-notes)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("Invoices"), std::string::npos) << r.text;
  EXPECT_EQ(r.model, "ragd-offline");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_GT(r.prompt_tokens, 0);
  EXPECT_EQ(r.completion_tokens, approx_tokens(r.text));
}

TEST(OfflineGenerator, CombinesSentencesFromSeveralPassagesInPassageOrder) {
  auto r = compose_extractive_answer("How do workers read jobs, and when is a stale entry served?",
                                     sample_passages());
  auto workers = r.text.find("Each worker reads jobs from a Redis stream [1].");
  auto refresh = r.text.find("A stale entry is served while one background refresh runs [2].");
  ASSERT_NE(workers, std::string::npos) << r.text;
  ASSERT_NE(refresh, std::string::npos) << r.text;
  EXPECT_LT(workers, refresh);
  EXPECT_NE(r.text.find("Sources: [1] Operations guide (ops-guide); [2] Caching (cache-notes)"),
            std::string::npos)
      << r.text;
}

TEST(OfflineGenerator, IsDeterministic) {
  auto a = compose_extractive_answer("How are workers scaled?", sample_passages());
  auto b = compose_extractive_answer("How are workers scaled?", sample_passages());
  EXPECT_EQ(a.text, b.text);
  EXPECT_NE(a.text.find("Scaling is done by running more workers [1]."), std::string::npos) << a.text;
}

TEST(OfflineGenerator, NeverRepeatsASentence) {
  auto passages = sample_passages();
  passages.push_back(passage("copy", "Copy", "Scaling is done by running more workers.", 0.3));
  auto r = compose_extractive_answer("How is scaling done?", passages);
  auto first = r.text.find("Scaling is done");
  ASSERT_NE(first, std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("Scaling is done", first + 1), std::string::npos) << r.text;
}

TEST(OfflineGenerator, SaysItCouldNotFindTheAnswerWithoutPassages) {
  auto r = compose_extractive_answer("What is the default soft TTL?", {});
  EXPECT_EQ(r.text, kNotFoundAnswer);
}

TEST(OfflineGenerator, SaysItCouldNotFindTheAnswerWhenNothingMatches) {
  auto r = compose_extractive_answer("Which colour is the logo?", sample_passages());
  EXPECT_EQ(r.text, kNotFoundAnswer);
}

TEST(OfflineGenerator, AnswersThroughTheGeneratorInterfaceWhenNoBaseUrlIsSet) {
  auto r = test::run_coro<Result<GenerateResult>>([](boost::asio::io_context& io) -> boost::asio::awaitable<Result<GenerateResult>> {
    auto gen = make_generator(io.get_executor(), LlmConfig{});
    queue::Job job;
    job.question = "What is the default soft TTL?";
    job.passages = sample_passages();
    co_return co_await gen->generate(job);
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->text.find("five minutes [2]"), std::string::npos) << r->text;
}

}  // namespace
}  // namespace ragd::llm
