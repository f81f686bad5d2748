// The official OpenAI SDK for Node (the `openai` npm package, pinned in tests/openai with its
// lockfile) against ragd with API keys on and a worker with the offline generator: models,
// a completion, a streamed completion, an unknown model, a bad request, a wrong key
// (tests/openai/sdk.test.mjs). The SDK must be installed (`npm ci` in tests/openai, which
// scripts/test does): without it this test fails, it is never skipped.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

namespace ragd::test {
namespace {

using json = nlohmann::json;

constexpr const char* kKey = "sdk-test-key";
constexpr const char* kKeyDigest = "4fab551d57eded4527cebdcb8cbe176f23ebdcf566ddca7f88343fbdb6cbb624";

// The count on a node:test TAP summary line ("# pass 7"), or -1.
int tap_count(const std::string& out, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("# " + name + " (\\d+)"))) return -1;
  return std::stoi(m[1]);
}

TEST(OpenAiSdk, TheOfficialNodeClientChatsWithRagdStreamedAndNot) {
  const std::string dir = source_path("tests/openai");
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/openai/package.json"))
      << "the openai npm package is not installed: run `npm ci` in tests/openai (scripts/test does)";
  StackOptions o;
  o.gateway_config = {{"auth", {{"api_keys", json::array({{{"sha256", kKeyDigest}, {"tenant", "sdk"}}})}}}};
  Stack stack(o);
  const std::map<std::string, std::string> auth = {{"Authorization", std::string("Bearer ") + kKey}};
  auto ingest = stack.ingest_dir(source_path("tests/data/corpus"), 0, auth);
  ASSERT_EQ(ingest.status, 200) << ingest.body;
  ASSERT_TRUE(stack.wait_ready());

  TempDir tmp;
  const std::string log = tmp.path() + "/node.log";
  Process node({"node", "--test", "--test-reporter=tap", dir + "/sdk.test.mjs"},
               {{"RAGD_BASE_URL", "http://127.0.0.1:" + std::to_string(stack.port()) + "/v1"},
                {"RAGD_API_KEY", kKey},
                {"RAGD_MODEL", "ragd"}},
               log);
  auto status = node.wait(std::chrono::seconds(120));
  const std::string out = node.log();
  ASSERT_TRUE(status.has_value()) << "node did not finish:\n" << out;
  EXPECT_EQ(*status, 0) << out;
  EXPECT_EQ(tap_count(out, "pass"), 7) << out;
  EXPECT_EQ(tap_count(out, "fail"), 0) << out;
  EXPECT_EQ(tap_count(out, "skipped"), 0) << out;
  EXPECT_EQ(tap_count(out, "todo"), 0) << out;
}

}  // namespace
}  // namespace ragd::test
