// RemoteEmbedder against the fake model server: batches, gathering concurrent callers,
// retries, 429, deadlines and a wrong dimension.
#include "ragd/retrieval/remote_embedder.hpp"

#include "fake_llm.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace ragd::retrieval {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeLlm;

EmbedderConfig config_for(const FakeLlm& fake, int dim, int batch = 64) {
  EmbedderConfig cfg;
  cfg.base_url = fake.base_url();
  cfg.model = "test-embed";
  cfg.dim = dim;
  cfg.batch = batch;
  cfg.timeout_ms = 5000;
  cfg.max_attempts = 3;
  return cfg;
}

RemoteEmbedderOptions fast_backoff() { return RemoteEmbedderOptions{5ms, 20ms}; }

Result<std::vector<float>> embed(EmbedderConfig cfg, std::vector<std::string> texts) {
  return test::run_coro<Result<std::vector<float>>>(
      [cfg, texts](asio::io_context& io) -> asio::awaitable<Result<std::vector<float>>> {
        RemoteEmbedder e(io.get_executor(), cfg, "", fast_backoff());
        co_return co_await e.embed_documents(texts);
      });
}

double norm(const float* v, int dim) {
  double n = 0;
  for (int i = 0; i < dim; ++i) n += static_cast<double>(v[i]) * v[i];
  return std::sqrt(n);
}

TEST(RemoteEmbedder, SplitsTextsIntoBatchesAndReturnsUnitVectorsInOrder) {
  FakeLlm fake({"--dim", "32"});
  std::vector<std::string> texts;
  for (int i = 0; i < 10; ++i) texts.push_back("text number " + std::to_string(i % 5));
  auto r = embed(config_for(fake, 32, 4), texts);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 10u * 32u);
  EXPECT_EQ(fake.stat("embedding_calls"), 3);  // 4 + 4 + 2
  EXPECT_EQ(fake.stat("embedding_inputs"), 10);
  const float* v = r->data();
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(norm(v + i * 32, 32), 1.0, 1e-5);
  // Rows i and i + 5 hold the same text, so the same vector; other rows differ.
  EXPECT_TRUE(std::equal(v, v + 32, v + 5 * 32));
  EXPECT_FALSE(std::equal(v, v + 32, v + 1 * 32));
}

TEST(RemoteEmbedder, GathersTheTextsOfConcurrentCallersIntoOneBatch) {
  FakeLlm fake({"--dim", "16", "--latency-ms", "200"});
  EmbedderConfig cfg = config_for(fake, 16);
  cfg.max_inflight = 1;
  auto r = test::run_coro<bool>([cfg](asio::io_context& io) -> asio::awaitable<bool> {
    using namespace asio::experimental::awaitable_operators;
    RemoteEmbedder e(io.get_executor(), cfg, "", fast_backoff());
    auto one = [&e](std::string a) -> asio::awaitable<bool> {
      std::vector<std::string> texts{a + " 1", a + " 2", a + " 3"};
      auto v = co_await e.embed_documents(std::move(texts));
      co_return v.has_value() && v->size() == 3u * 16u;
    };
    auto [a, b, c, d] = co_await (one("a") && one("b") && one("c") && one("d"));
    co_return a && b && c && d;
  });
  EXPECT_TRUE(r);
  // The first caller's texts leave at once; the other three wait for that request and
  // then share one.
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
  EXPECT_EQ(fake.stat("embedding_inputs"), 12);
}

TEST(RemoteEmbedder, RetriesServerErrors) {
  FakeLlm fake({"--dim", "8", "--fail-first", "2"});
  auto r = embed(config_for(fake, 8), {"hello"});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake.stat("embedding_calls"), 3);
  EXPECT_EQ(fake.stat("status_500_injected"), 2);
}

TEST(RemoteEmbedder, WaitsOutA429AndSucceeds) {
  FakeLlm fake({"--dim", "8", "--fail-first", "1", "--fail-first-status", "429"});
  auto r = embed(config_for(fake, 8), {"hello"});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake.stat("status_429_injected"), 1);
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
}

TEST(RemoteEmbedder, GivesUpWithTheUpstreamErrorWhenAttemptsRunOut) {
  FakeLlm fake({"--dim", "8", "--fail-first", "10"});
  EmbedderConfig cfg = config_for(fake, 8);
  cfg.max_attempts = 2;
  auto r = embed(cfg, {"hello"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_NE(r.error().message.find("embedding service returned HTTP 500"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
}

TEST(RemoteEmbedder, HangingServerEndsInDeadlineExceeded) {
  FakeLlm fake({"--dim", "8", "--hang-rate", "1"});
  EmbedderConfig cfg = config_for(fake, 8);
  cfg.timeout_ms = 200;
  cfg.max_attempts = 2;
  auto r = embed(cfg, {"hello"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::deadline_exceeded) << r.error().message;
  EXPECT_NE(r.error().message.find("embedding service"), std::string::npos) << r.error().message;
}

TEST(RemoteEmbedder, WrongDimensionFailsNamingExpectedAndGot) {
  FakeLlm fake({"--dim", "384"});
  auto r = embed(config_for(fake, 256), {"hello"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_NE(r.error().message.find("dim 384, expected 256"), std::string::npos) << r.error().message;
}

TEST(RemoteEmbedder, BlockingFormWorksWithoutARunningEventLoop) {
  FakeLlm fake({"--dim", "8"});
  asio::io_context unused;  // never run: the blocking form brings its own loop
  RemoteEmbedder e(unused.get_executor(), config_for(fake, 8, 2), "", fast_backoff());
  auto r = e.embed_documents_sync({"a", "b", "c"});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->size(), 3u * 8u);
  EXPECT_EQ(fake.stat("embedding_calls"), 2);
}

}  // namespace
}  // namespace ragd::retrieval
