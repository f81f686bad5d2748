// Fakes of the pipeline's ports (ports.hpp) and of the profile source, for unit tests on
// one io_context thread.
#pragma once

#include "ragd/orchestrator/ports.hpp"
#include "ragd/core/completion_token.hpp"
#include "ragd/profile/profile_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ragd::orchestrator::test {

namespace asio = boost::asio;

// Closed, it parks whoever passes until release(); open, it lets them through.
struct Gate {
  bool open = true;
  std::vector<std::shared_ptr<asio::steady_timer>> parked;

  asio::awaitable<void> pass() {
    if (open) co_return;
    auto t = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                  asio::steady_timer::time_point::max());
    parked.push_back(t);
    co_await t->async_wait(kNoThrow);
  }
  void release() {
    open = true;
    for (auto& t : parked) t->cancel();
    parked.clear();
  }
};

struct FakeRetrieval final : Retrieval {
  int calls = 0;
  std::uint64_t index_version = 7;
  std::optional<Error> error;  // set: every retrieval fails with it
  bool degraded = false;       // answers as a hybrid search whose embedder failed
  asio::awaitable<Result<retrieval::SearchResult>> retrieve(std::string, std::string, int, retrieval::SearchMode mode,
                                                          std::chrono::milliseconds,
                                                          retrieval::MetadataFilterPtr) override {
    ++calls;
    if (error) co_return *error;
    retrieval::SearchResult r;
    r.degraded = degraded;
    if (degraded) r.degraded_reason = "embedder";
    r.hits.push_back({"bees.md", "bees.md#0", "Bees", "Bees make honey.", 0.5});
    r.mode_used = mode;
    co_return r;
  }
  retrieval::SearchMode default_mode() const override { return retrieval::SearchMode::hybrid; }
  std::uint64_t version(std::string_view) const override { return index_version; }
};

struct FakeJobs final : LlmJobs {
  std::vector<queue::Job> jobs;  // as submitted
  Gate gate;
  bool full = false;
  std::string error_code;  // set: replies fail with it
  asio::awaitable<Result<queue::JobReply>> submit(queue::Job job) override {
    return submit_stream(std::move(job), {});
  }
  // Streamed: the reply's text is handed on word by word (each with its leading space)
  // before the reply.
  asio::awaitable<Result<queue::JobReply>> submit_stream(queue::Job job, DeltaHandler on_delta) override {
    jobs.push_back(job);
    const int n = static_cast<int>(jobs.size());
    co_await gate.pass();
    queue::JobReply r;
    r.job_id = job.id;
    r.ok = error_code.empty();
    r.error_code = error_code;
    r.error_message = error_code.empty() ? "" : "the model said no";
    r.llm_ms = 2;
    r.text = "answer " + std::to_string(n) + " to: " + job.question;
    r.model = "fake-model";
    if (on_delta && r.ok) {
      std::size_t from = 0;
      while (from < r.text.size()) {
        std::size_t to = r.text.find(' ', from + 1);
        if (to == std::string::npos) to = r.text.size();
        on_delta(std::string_view(r.text).substr(from, to - from));
        from = to;
      }
    }
    co_return r;
  }
  bool saturated(queue::Priority) const override { return full; }
};

// Sessions and profiles by (tenant, id).
using TenantId = std::pair<std::string, std::string>;

struct FakeSessions final : SessionHistory {
  std::map<TenantId, std::vector<Turn>> turns;
  bool fail_loads = false;
  std::vector<Turn>& of(const std::string& tenant, const std::string& session_id) { return turns[{tenant, session_id}]; }
  bool enabled() const override { return true; }
  asio::awaitable<Result<std::vector<Turn>>> load(std::string tenant, std::string session_id) override {
    if (fail_loads) co_return make_error(Errc::unavailable, "sessions are down");
    co_return turns[{tenant, session_id}];
  }
  asio::awaitable<void> append(std::string tenant, std::string session_id, std::string question,
                               std::string answer) override {
    turns[{tenant, session_id}].push_back({std::move(question), std::move(answer)});
    co_return;
  }
};

struct FakeProfiles final : profile::ProfileSource {
  std::map<TenantId, profile::Profile> profiles;
  int calls = 0;
  bool fail = false;
  asio::awaitable<Result<profile::Profile>> get(std::string tenant, std::string user_id) override {
    ++calls;
    if (fail) co_return make_error(Errc::unavailable, "profiles are down");
    co_return profiles[{tenant, user_id}];
  }
};

}  // namespace ragd::orchestrator::test
