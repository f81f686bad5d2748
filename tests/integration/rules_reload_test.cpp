// SIGHUP makes a running gateway read its rules file again, with queries in flight: a good
// file's rules apply, a broken file keeps the rules in force and the log says why.
#include "stack.hpp"

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

using namespace ragd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string answering(const std::string& reply) {
  return json{{"rules", {{{"id", "ping"}, {"match", {{"keywords", {"ping"}}}}, {"action", "answer"},
                          {"message", reply}}}}}.dump();
}

// The answer to "ping", or the status when there is none.
std::string ping(int port) {
  auto r = http_request(port, "POST", "/query", json{{"query", "ping"}}.dump(), {{"Content-Type", "application/json"}});
  auto j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object() || !j.contains("answer")) return "status " + std::to_string(r.status);
  return j["answer"].get<std::string>();
}

}  // namespace

TEST(RulesReload, SighupAppliesTheNewRulesAndABrokenFileKeepsTheOld) {
  TempDir dir;
  const std::string path = dir.path() + "/rules.json";
  std::ofstream(path) << answering("pong-1");
  StackOptions opts;
  opts.gateway_config = {{"rules", {{"file", path}}}};
  opts.start_worker = false;  // rule answers need no worker
  Stack stack(opts);
  ASSERT_EQ(ping(stack.port()), "pong-1");

  // Queries keep arriving through every reload; none may fail.
  std::atomic<bool> done{false};
  std::atomic<int> sent{0}, failed{0};
  std::thread load([&] {
    while (!done) {
      auto answer = ping(stack.port());
      ++sent;
      if (answer.rfind("pong-", 0) != 0) ++failed;
    }
  });

  std::ofstream(path, std::ios::trunc) << answering("pong-2");
  stack.gateway().signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] { return ping(stack.port()) == "pong-2"; }, 10s));

  std::ofstream(path, std::ios::trunc) << R"js({"rules": [{"id": "bad", "match": {"regex": "(?=x)"}}]})js";
  stack.gateway().signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] { return stack.gateway().log().find("rules not reloaded") != std::string::npos; }, 10s));
  const auto log = stack.gateway().log();
  EXPECT_NE(log.find("rules[0] (\"bad\")"), std::string::npos) << "the log names the broken rule";
  EXPECT_EQ(ping(stack.port()), "pong-2");

  done = true;
  load.join();
  EXPECT_GT(sent.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "of " << sent.load();
  EXPECT_TRUE(stack.gateway().alive());
}
