// The pipeline over fakes of its ports: retrieval, the LLM job queue, the session history
// and the profile source; the answer cache is the real one, in process only (no L2).
#include "ragd/orchestrator/pipeline.hpp"

#include "ragd/metrics/metrics.hpp"
#include "ragd/profile/cached_profile_store.hpp"
#include "ragd/rules/reloadable_rules.hpp"

#include "co_assert.hpp"
#include "fake_ports.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <optional>


using namespace ragd;
using namespace ragd::orchestrator;
using namespace ragd::orchestrator::test;
namespace asio = boost::asio;

namespace {

std::string render(const QueryResult& r) { return "{\"answer\":\"" + r.answer + "\",\"model\":\"" + r.model + "\"}"; }

// One pipeline over fakes, on one io_context thread.
struct Rig {
  asio::io_context io;
  metrics::Registry registry;
  FakeRetrieval retrieval;
  FakeJobs jobs;
  FakeSessions sessions;
  FakeProfiles profile_source;
  profile::CachedProfileStore profiles{profile_source, 60000, registry};
  PipelineConfig config;
  std::unique_ptr<Pipeline> pipeline;

  explicit Rig(std::shared_ptr<const rules::ReloadableRules> rules = nullptr, int soft_ttl_ms = 60000) {
    config.model = "m";
    config.answers.soft_ttl_ms = soft_ttl_ms;
    pipeline = std::make_unique<Pipeline>(PipelineDeps{io.get_executor(), std::move(rules), retrieval, jobs, profiles,
                                                       sessions, nullptr, &render, registry},
                                          config);
  }

  static QueryRequest request(std::string query) {
    QueryRequest q;
    q.query = std::move(query);
    q.tenant = "t";
    q.request_id = "r";
    q.deadline_unix_ms = unix_ms() + 10000;
    return q;
  }

  // A query of `tenant`'s user in one of its sessions.
  static QueryRequest request(std::string query, std::string tenant, std::string user_id, std::string session_id) {
    QueryRequest q = request(std::move(query));
    q.tenant = std::move(tenant);
    q.user_id = std::move(user_id);
    q.session_id = std::move(session_id);
    return q;
  }

  // Opens the model's gate once `n` jobs were asked for (polled on the io_context).
  void release_gate_at_jobs(std::size_t n) {
    asio::co_spawn(
        io,
        [this, n]() -> asio::awaitable<void> {
          CO_ASSERT_TRUE(co_await ragd::test::eventually([&] { return jobs.jobs.size() == n; },
                                                         std::chrono::seconds(10)));
          jobs.gate.release();
        },
        asio::detached);
  }

  Result<QueryResult> ask(QueryRequest q) {
    auto fut = asio::co_spawn(io, pipeline->run(std::move(q)), asio::use_future);
    io.run();
    io.restart();
    return fut.get();
  }

  std::uint64_t counter(const std::string& name, std::initializer_list<std::string_view> labels,
                        std::vector<std::string> label_names) {
    return registry.counter(name, "", std::move(label_names)).with(labels).value();
  }
};

std::string_view body_of(const QueryResult& r) { return r.rendered.body; }

}  // namespace

TEST(Pipeline, ComputesAMissThenAnswersTheSameQuestionFromTheCache) {
  Rig rig;
  auto first = rig.ask(Rig::request("What do bees make?"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->cache, "miss");
  EXPECT_EQ(first->answer, "answer 1 to: What do bees make?");
  ASSERT_EQ(first->sources.size(), 1u);
  EXPECT_EQ(body_of(*first), R"({"answer":"answer 1 to: What do bees make?","model":"fake-model"})");
  ASSERT_EQ(rig.jobs.jobs.size(), 1u);
  EXPECT_EQ(rig.jobs.jobs[0].priority, queue::Priority::interactive);
  EXPECT_NE(rig.jobs.jobs[0].messages.back().content.find("Bees make honey."), std::string::npos);

  // Case and punctuation do not make a new question.
  auto second = rig.ask(Rig::request("what do bees make"));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->cache, "hit");
  EXPECT_EQ(body_of(*second), body_of(*first));
  EXPECT_EQ(second->answer_text(), "answer 1 to: What do bees make?");
  EXPECT_GE(second->cache_age_ms, 0);
  EXPECT_EQ(rig.jobs.jobs.size(), 1u);
  EXPECT_EQ(rig.retrieval.calls, 1);
  EXPECT_EQ(rig.counter("ragd_answer_cache_total", {"hit"}, {"result"}), 1u);
  EXPECT_EQ(rig.counter("ragd_queries_total", {"cached"}, {"outcome"}), 1u);

  // A new index version is a new key.
  rig.retrieval.index_version = 8;
  auto third = rig.ask(Rig::request("What do bees make?"));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->cache, "miss");
  EXPECT_EQ(rig.jobs.jobs.size(), 2u);
}

TEST(Pipeline, ServesStaleAnswersAndRefreshesOnceInTheBackground) {
  Rig rig(nullptr, /*soft_ttl_ms=*/0);  // stale as soon as stored
  ASSERT_TRUE(rig.ask(Rig::request("q")));
  ASSERT_EQ(rig.jobs.jobs.size(), 1u);

  // Three stale hits while the refresh's model call is held: one refresh between them.
  rig.jobs.gate.open = false;
  std::vector<Result<QueryResult>> stale;
  asio::co_spawn(
      rig.io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) stale.push_back(co_await rig.pipeline->run(Rig::request("q")));
        CO_ASSERT_TRUE(co_await ragd::test::eventually([&] { return rig.jobs.jobs.size() == 2; },
                                                 std::chrono::seconds(10)));
        rig.jobs.gate.release();
      },
      asio::detached);
  rig.io.run();
  rig.io.restart();
  ASSERT_EQ(stale.size(), 3u);
  for (const auto& r : stale) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cache, "stale");
    EXPECT_EQ(r->answer_text(), "answer 1 to: q");
  }
  ASSERT_EQ(rig.jobs.jobs.size(), 2u);
  EXPECT_EQ(rig.jobs.jobs[1].priority, queue::Priority::refresh);
  EXPECT_EQ(rig.counter("ragd_answer_cache_refreshes_total", {"succeeded"}, {"outcome"}), 1u);

  // The refreshed answer replaced the stale one.
  auto after = rig.ask(Rig::request("q"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->cache, "stale");
  EXPECT_EQ(after->answer_text(), "answer 2 to: q");
}

TEST(Pipeline, ConcurrentIdenticalMissesShareOneComputation) {
  Rig rig;
  rig.jobs.gate.open = false;
  std::vector<Result<QueryResult>> results;
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(
        rig.io, [&]() -> asio::awaitable<void> { results.push_back(co_await rig.pipeline->run(Rig::request("q"))); },
        asio::detached);
  }
  rig.release_gate_at_jobs(1);
  rig.io.run();
  ASSERT_EQ(results.size(), 20u);
  int coalesced = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->cache, "miss");
    EXPECT_EQ(r->answer_text(), "answer 1 to: q");
    coalesced += r->coalesced;
  }
  EXPECT_EQ(coalesced, 19);
  EXPECT_EQ(rig.jobs.jobs.size(), 1u);
  EXPECT_EQ(rig.retrieval.calls, 1);
  EXPECT_EQ(rig.counter("ragd_answer_cache_coalesced_total", {}, {}), 19u);
}

TEST(Pipeline, ABlockRuleRefusesAndAnAnswerRuleAnswersWithoutTheModel) {
  auto rules = rules::RuleSet::parse(R"({"rules": [
      {"id": "no-secrets", "match": {"keywords": ["password"]}, "action": "block", "message": "Not that."},
      {"id": "hello", "match": {"keywords": ["hello"]}, "action": "answer", "message": "Hi there."}]})");
  ASSERT_TRUE(rules) << rules.error().message;
  Rig rig(std::make_shared<const rules::ReloadableRules>(std::move(*rules)));

  auto blocked = rig.ask(Rig::request("what is the admin password"));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, Errc::blocked);
  EXPECT_EQ(blocked.error().message, "Not that.");

  auto canned = rig.ask(Rig::request("hello"));
  ASSERT_TRUE(canned);
  EXPECT_EQ(canned->cache, "rule");
  EXPECT_EQ(canned->answer, "Hi there.");
  EXPECT_EQ(canned->model, "rule:hello");
  EXPECT_EQ(rig.jobs.jobs.size(), 0u);
  EXPECT_EQ(rig.retrieval.calls, 0);
}

TEST(Pipeline, FailedProfileAndHistoryLegsDegradeInsteadOfFailing) {
  Rig rig;
  rig.profile_source.fail = true;
  rig.sessions.fail_loads = true;
  auto r = rig.ask(Rig::request("q", "t", "u1", "s1"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->profile_used);
  EXPECT_EQ(rig.jobs.jobs.size(), 1u);
  EXPECT_EQ(rig.jobs.jobs[0].messages.size(), 2u);  // system and question: no history turns
  EXPECT_EQ(rig.counter("ragd_degraded_legs_total", {"profile"}, {"leg"}), 1u);
  EXPECT_EQ(rig.counter("ragd_degraded_legs_total", {"history"}, {"leg"}), 1u);
}

TEST(Pipeline, UsesTheProfileAndHistoryAndAppendsCachedAnswersToTheSession) {
  Rig rig;
  rig.profile_source.profiles[{"t", "u1"}] = {{"expertise", "beginner"}};
  auto q = Rig::request("q");
  q.user_id = "u1";
  ASSERT_TRUE(rig.ask(q));
  ASSERT_EQ(rig.jobs.jobs.size(), 1u);
  EXPECT_NE(rig.jobs.jobs[0].messages[0].content.find("expertise: beginner"), std::string::npos);

  // The same question in a new session is a hit, and the turn appended is the cached answer.
  q.session_id = "s1";
  auto hit = rig.ask(q);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->cache, "hit");
  EXPECT_TRUE(hit->profile_used);
  EXPECT_EQ(rig.profile_source.calls, 1);  // the second came from the profile cache
  ASSERT_EQ(rig.sessions.of("t", "s1").size(), 1u);
  EXPECT_EQ(rig.sessions.of("t", "s1")[0].question, "q");
  EXPECT_EQ(rig.sessions.of("t", "s1")[0].answer, "answer 1 to: q");

  // A follow-up in that session carries the turn into the prompt and the key.
  auto follow = rig.ask(q);
  ASSERT_TRUE(follow);
  EXPECT_EQ(follow->cache, "miss");
  ASSERT_EQ(rig.jobs.jobs.size(), 2u);
  ASSERT_EQ(rig.jobs.jobs[1].messages.size(), 4u);
  EXPECT_EQ(rig.jobs.jobs[1].messages[2].content, "answer 1 to: q");
}

// A session id and a user id name different sessions and users in different tenants: one
// tenant's turns and profile never reach another's prompt, even from the in-process caches.
TEST(Pipeline, TenantsSharingASessionIdAndAUserIdSeeOnlyTheirOwnTurnsAndProfile) {
  Rig rig;
  rig.profile_source.profiles[{"a", "u1"}] = {{"expertise", "beginner"}};
  ASSERT_TRUE(rig.ask(Rig::request("first question", "a", "u1", "s1")));
  ASSERT_EQ(rig.sessions.of("a", "s1").size(), 1u);

  auto b = rig.ask(Rig::request("second question", "b", "u1", "s1"));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_FALSE(b->profile_used);
  ASSERT_EQ(rig.jobs.jobs.size(), 2u);
  EXPECT_EQ(rig.jobs.jobs[1].messages.size(), 2u);  // system and question: none of a's turns
  EXPECT_EQ(rig.jobs.jobs[1].messages[0].content.find("beginner"), std::string::npos);
  EXPECT_EQ(rig.sessions.of("a", "s1").size(), 1u);
  EXPECT_EQ(rig.sessions.of("b", "s1").size(), 1u);
}

TEST(Pipeline, ShedsAMissWhenTheQueueIsSaturatedButStillServesHits) {
  Rig rig;
  ASSERT_TRUE(rig.ask(Rig::request("cached")));
  rig.jobs.full = true;
  auto shed = rig.ask(Rig::request("new question"));
  ASSERT_FALSE(shed);
  EXPECT_EQ(shed.error().code, Errc::overloaded);
  EXPECT_EQ(rig.retrieval.calls, 1);
  auto hit = rig.ask(Rig::request("cached"));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->cache, "hit");
}

namespace {

// A streamed request's sink: what reached it, in order.
struct RecordingSink final : AnswerSink {
  std::vector<std::string> events;  // "sources:<n>" or "delta:<text>"
  std::string text;
  void sources(const std::vector<retrieval::Hit>& hits) override {
    events.push_back("sources:" + std::to_string(hits.size()));
  }
  void delta(std::string_view d) override {
    events.push_back("delta:" + std::string(d));
    text += d;
  }
};

QueryRequest streamed(std::string query, std::shared_ptr<RecordingSink> sink) {
  auto q = Rig::request(std::move(query));
  q.stream = true;
  q.sink = std::move(sink);
  return q;
}

}  // namespace

TEST(Pipeline, AStreamedMissHandsOnTheSourcesBeforeThePiecesOfTheAnswer) {
  Rig rig;
  auto sink = std::make_shared<RecordingSink>();
  auto r = rig.ask(streamed("What do bees make?", sink));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->cache, "miss");
  ASSERT_GE(sink->events.size(), 3u);
  EXPECT_EQ(sink->events.front(), "sources:1");
  EXPECT_EQ(sink->text, "answer 1 to: What do bees make?");
  EXPECT_EQ(sink->text, r->answer_text());
  EXPECT_GT(r->timings.first_token, 0.0);
  EXPECT_LE(r->timings.first_token, r->timings.total);
  // A second ask is a hit: the pipeline hands nothing on (the whole answer is the result).
  auto again = std::make_shared<RecordingSink>();
  auto hit = rig.ask(streamed("What do bees make?", again));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->cache, "hit");
  EXPECT_TRUE(again->events.empty());
  EXPECT_EQ(hit->timings.first_token, hit->timings.total);
  EXPECT_EQ(rig.jobs.jobs.size(), 1u);
}

TEST(Pipeline, StreamedFollowersOfOneComputationReceiveTheSameStream) {
  Rig rig;
  rig.jobs.gate.open = false;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<Result<QueryResult>> results;
  for (int i = 0; i < 5; ++i) {
    sinks.push_back(std::make_shared<RecordingSink>());
    asio::co_spawn(
        rig.io,
        [&, s = sinks.back()]() -> asio::awaitable<void> { results.push_back(co_await rig.pipeline->run(streamed("q", s))); },
        asio::detached);
  }
  rig.release_gate_at_jobs(1);
  rig.io.run();
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(rig.jobs.jobs.size(), 1u);
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().message;
    EXPECT_EQ(sinks[i]->events.front(), "sources:1") << i;
    EXPECT_EQ(sinks[i]->text, "answer 1 to: q") << i;
    EXPECT_EQ(sinks[i]->events, sinks[0]->events) << i;
  }
}

TEST(Pipeline, AStreamedAnswerThatFailsIsNeitherCachedNorAppendedToTheSession) {
  Rig rig;
  rig.jobs.error_code = "upstream_error";
  auto sink = std::make_shared<RecordingSink>();
  auto q = streamed("q", sink);
  q.session_id = "s1";
  auto r = rig.ask(q);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_TRUE(rig.sessions.of("t", "s1").empty());
  rig.jobs.error_code.clear();
  auto again = rig.ask(Rig::request("q"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cache, "miss");
}

TEST(Pipeline, TheClientsTurnsAndGenerationLimitsReachTheJobAndTheKey) {
  Rig rig;
  auto q = Rig::request("and then?");
  q.turns = {{"What do bees make?", "Honey."}};
  q.instructions = {"Answer in one word."};
  q.max_tokens = 7;
  q.temperature = 0.5;
  auto r = rig.ask(q);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(rig.jobs.jobs.size(), 1u);
  const auto& job = rig.jobs.jobs[0];
  EXPECT_EQ(job.max_tokens, 7);
  EXPECT_DOUBLE_EQ(job.temperature, 0.5);
  std::string prompt;
  for (const auto& m : job.messages) prompt += m.content + "\n";
  EXPECT_NE(prompt.find("Honey."), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("Answer in one word."), std::string::npos) << prompt;
  // The same question without the conversation is another answer.
  auto plain = rig.ask(Rig::request("and then?"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->cache, "miss");
  EXPECT_EQ(rig.jobs.jobs.size(), 2u);
}

TEST(LiveAnswer, ALateSubscriberGetsWhatWasPublishedThenTheRest) {
  asio::io_context io;
  LiveAnswer live(io.get_executor());
  auto early = std::make_shared<RecordingSink>();
  live.subscribe(early);
  live.sources({{"bees.md", "bees.md#0", "Bees", "Bees make honey.", 0.5}});
  live.delta("Bees ");
  live.delta("make ");
  auto late = std::make_shared<RecordingSink>();
  live.subscribe(late);
  live.delta("honey.");
  live.unsubscribe(early);
  live.delta(" Gone.");
  EXPECT_EQ(early->text, "Bees make honey.");
  EXPECT_EQ(late->events, (std::vector<std::string>{"sources:1", "delta:Bees make ", "delta:honey.", "delta: Gone."}));
}

TEST(LiveAnswer, IsAbandonedWhenTheLastWaiterLeavesBeforeItFinishes) {
  // Declared after the io_context: a LiveAnswer's channel belongs to it and must go first (its
  // destruction cancels the wait still pending on `finished`, which is never resumed).
  asio::io_context io;
  std::optional<LiveAnswer> unfinished, finished;
  auto watch = [&](LiveAnswer& live, bool& abandoned) {
    asio::co_spawn(io, [](LiveAnswer& l, bool& a) -> asio::awaitable<void> {
      co_await l.abandoned();
      a = true;
    }(live, abandoned), asio::detached);
  };
  bool abandoned_unfinished = false, abandoned_finished = false;
  unfinished.emplace(io.get_executor());
  finished.emplace(io.get_executor());
  watch(*unfinished, abandoned_unfinished);
  watch(*finished, abandoned_finished);
  for (LiveAnswer* live : {&*unfinished, &*finished}) {
    live->hold();
    live->hold();
    live->release();
  }
  io.poll();
  EXPECT_FALSE(abandoned_unfinished);  // one waiter is left
  finished->finish();
  unfinished->release();
  finished->release();
  io.poll();
  EXPECT_TRUE(abandoned_unfinished);
  EXPECT_FALSE(abandoned_finished);
}
