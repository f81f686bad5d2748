// The pipeline wired to the real components: the retriever and the job client behind the
// pipeline's ports, the session history in Redis (SessionStore), profiles behind their
// in-process cache (profile::CachedProfileStore) and the answer cache's L2 in Redis. The
// gateway holds one; the renderer of answers comes from it (http/answer_body.hpp).
// Thread-safety: as Pipeline's.
#pragma once

#include "ragd/orchestrator/pipeline.hpp"

#include <memory>

namespace ragd::queue {
class JobClient;
}
namespace ragd::profile {
class ProfileStore;
}

namespace ragd::orchestrator {

class WiredPipeline {
 public:
  struct Components {
    boost::asio::any_io_executor executor;
    std::shared_ptr<const rules::ReloadableRules> rules;  // may be null: no rules
    retrieval::Retriever& retriever;
    profile::ProfileStore& profiles;
    redis::Client& redis;
    queue::JobClient& jobs;
    metrics::Registry& metrics;
    AnswerCache::Render render;
  };

  WiredPipeline(Components components, PipelineConfig config);
  ~WiredPipeline();

  Pipeline& pipeline();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace ragd::orchestrator
