#include "ragd/llm/generator.hpp"

#include "ragd/llm/offline_generator.hpp"
#include "ragd/llm/openai_generator.hpp"

namespace ragd::llm {

std::unique_ptr<Generator> make_generator(boost::asio::any_io_executor ex, const LlmConfig& cfg) {
  if (cfg.base_url.empty()) return std::make_unique<OfflineGenerator>();
  return std::make_unique<OpenAiGenerator>(std::move(ex), cfg);
}

}  // namespace ragd::llm
