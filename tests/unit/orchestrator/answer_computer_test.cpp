#include "ragd/orchestrator/answer_computer.hpp"

#include "ragd/metrics/metrics.hpp"
#include "ragd/orchestrator/stage_metrics.hpp"

#include "fake_ports.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace ragd;
using namespace ragd::orchestrator;
namespace asio = boost::asio;

namespace {

struct Rig {
  metrics::Registry registry;
  StageMetrics stages{registry};
  orchestrator::test::FakeRetrieval retrieval;
  orchestrator::test::FakeJobs jobs;
  AnswerComputer computer{retrieval, jobs, stages, "m", 2000};

  Result<QueryResult> run() {
    Computation c;
    c.query = "What do bees make?";
    c.top_k = 3;
    c.tenant = "t";
    c.request_id = "r1";
    c.deadline_unix_ms = unix_ms() + 10000;
    c.prompt.question = c.query;
    return ragd::test::run_coro<Result<QueryResult>>([&](asio::io_context&) { return computer.run(c); });
  }
};

}  // namespace

TEST(AnswerComputer, RetrievesBuildsTheJobAndTakesTheReply) {
  Rig rig;
  auto r = rig.run();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->answer, "answer 1 to: What do bees make?");
  EXPECT_EQ(r->model, "fake-model");
  ASSERT_EQ(r->sources.size(), 1u);
  EXPECT_EQ(r->sources[0].doc_id, "bees.md");
  EXPECT_EQ(r->timings.llm, 2);
  EXPECT_TRUE(r->retrieval_degraded.empty());
  ASSERT_EQ(rig.jobs.jobs.size(), 1u);
  const auto& job = rig.jobs.jobs[0];
  EXPECT_EQ(job.model, "m");
  EXPECT_EQ(job.tenant, "t");
  EXPECT_EQ(job.request_id, "r1");
  EXPECT_EQ(job.priority, queue::Priority::interactive);
  ASSERT_EQ(job.passages.size(), 1u);
  EXPECT_NE(job.messages.back().content.find("<<<passage 1 source=\"bees.md\" title=\"Bees\">>>"), std::string::npos);
}

TEST(AnswerComputer, MapsTheWorkersErrorCodes) {
  for (const auto& [code, want] : std::vector<std::pair<std::string, Errc>>{
           {"deadline_exceeded", Errc::deadline_exceeded},
           {"overloaded", Errc::overloaded},
           {"rate_limited", Errc::overloaded},
           {"upstream_error", Errc::upstream_error},
           {"anything else", Errc::upstream_error}}) {
    Rig rig;
    rig.jobs.error_code = code;
    auto r = rig.run();
    ASSERT_FALSE(r) << code;
    EXPECT_EQ(r.error().code, want) << code;
    EXPECT_EQ(r.error().message, "the model call failed: the model said no");
  }
}

TEST(AnswerComputer, ARetrievalErrorSubmitsNoJobAndADegradedOneIsMarked) {
  Rig failing;
  failing.retrieval.error = make_error(Errc::deadline_exceeded, "retrieval did not finish in time");
  auto r = failing.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded);
  EXPECT_TRUE(failing.jobs.jobs.empty());

  Rig degraded;
  degraded.retrieval.degraded = true;
  auto d = degraded.run();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->retrieval_degraded, "embedder");
}
