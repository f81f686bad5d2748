#include "ragd/orchestrator/wired_pipeline.hpp"

#include "ragd/profile/cached_profile_store.hpp"
#include "ragd/queue/job_client.hpp"
#include "ragd/retrieval/retriever.hpp"

namespace ragd::orchestrator {

namespace {

class RetrieverPort final : public Retrieval {
 public:
  explicit RetrieverPort(retrieval::Retriever& r) : retriever_(r) {}
  boost::asio::awaitable<Result<retrieval::SearchResult>> retrieve(std::string tenant, std::string query, int top_k,
                                                                 retrieval::SearchMode mode,
                                                                 std::chrono::milliseconds timeout,
                                                                 retrieval::MetadataFilterPtr filter) override {
    return retriever_.retrieve(std::move(tenant), std::move(query), top_k, mode, timeout, std::move(filter));
  }
  retrieval::SearchMode default_mode() const override { return retriever_.default_mode(); }
  std::uint64_t version(std::string_view tenant) const override { return retriever_.version(tenant); }

 private:
  retrieval::Retriever& retriever_;
};

class JobClientPort final : public LlmJobs {
 public:
  explicit JobClientPort(queue::JobClient& jobs) : jobs_(jobs) {}
  boost::asio::awaitable<Result<queue::JobReply>> submit(queue::Job job) override {
    return jobs_.submit(std::move(job));
  }
  boost::asio::awaitable<Result<queue::JobReply>> submit_stream(queue::Job job, DeltaHandler on_delta) override {
    return jobs_.submit_stream(std::move(job), std::move(on_delta));
  }
  bool saturated(queue::Priority priority) const override { return jobs_.saturated(priority); }

 private:
  queue::JobClient& jobs_;
};

}  // namespace

struct WiredPipeline::Parts {
  RetrieverPort retrieval;
  JobClientPort jobs;
  profile::CachedProfileStore profiles;
  SessionStore sessions;
  Pipeline pipeline;

  Parts(Components c, PipelineConfig config)
      : retrieval(c.retriever),
        jobs(c.jobs),
        profiles(c.profiles, config.profile_ttl_ms, c.metrics),
        sessions(c.redis, config.sessions, c.metrics),
        pipeline(PipelineDeps{std::move(c.executor), std::move(c.rules), retrieval, jobs, profiles, sessions, &c.redis,
                              std::move(c.render), c.metrics},
                 std::move(config)) {}
};

WiredPipeline::WiredPipeline(Components components, PipelineConfig config)
    : parts_(std::make_unique<Parts>(std::move(components), std::move(config))) {}

WiredPipeline::~WiredPipeline() = default;

Pipeline& WiredPipeline::pipeline() { return parts_->pipeline; }

}  // namespace ragd::orchestrator
