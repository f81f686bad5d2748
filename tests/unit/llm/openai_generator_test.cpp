#include "ragd/llm/openai_generator.hpp"

#include "ragd/core/ids.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "llm_jobs.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ragd::llm {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;

using test::chat_job;

LlmConfig config_for(const std::string& base_url, int max_attempts = 3) {
  return test::llm_config_for(base_url, max_attempts);
}

TEST(ChatCompletionsUrl, AcceptsBaseUrlsWithOrWithoutV1) {
  EXPECT_EQ(chat_completions_url("http://h:8000"), "http://h:8000/v1/chat/completions");
  EXPECT_EQ(chat_completions_url("http://h:8000/"), "http://h:8000/v1/chat/completions");
  EXPECT_EQ(chat_completions_url("http://h:8000/v1"), "http://h:8000/v1/chat/completions");
  EXPECT_EQ(chat_completions_url("https://api.example.com/v1/"), "https://api.example.com/v1/chat/completions");
}

TEST(BuildChatRequest, SendsTheJobsMessagesModelAndCappedMaxTokens) {
  LlmConfig cfg = config_for("http://h");
  cfg.max_tokens = 256;
  queue::Job job = chat_job("Why?");
  job.max_tokens = 1000;
  job.temperature = 0.7;
  json body = json::parse(build_chat_request(job, cfg));
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["max_tokens"], 256);
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.7);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][1]["role"], "user");
  EXPECT_EQ(body["messages"][1]["content"], "Why?");

  job.model = "other-model";
  job.messages.clear();
  body = json::parse(build_chat_request(job, cfg));
  EXPECT_EQ(body["model"], "other-model");
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["content"], "Why?");
  EXPECT_EQ(body["stream"], false);
}

TEST(BuildChatRequest, EscapesPromptTextAndRepairsInvalidUtf8) {
  queue::Job job = chat_job("q");
  const std::string tricky = "quote \" backslash \\ newline \n tab \t bell \x07 caf\xc3\xa9 \xf0\x9f\x99\x82";
  job.messages = {{"system", tricky}, {"user", std::string("bad \xff\xfe bytes")}};
  json body = json::parse(build_chat_request(job, config_for("http://h")));
  EXPECT_EQ(body["messages"][0]["content"], tricky);
  const std::string repaired = body["messages"][1]["content"];
  EXPECT_TRUE(repaired.starts_with("bad ")) << repaired;
  EXPECT_TRUE(repaired.ends_with(" bytes")) << repaired;
  EXPECT_EQ(repaired.find('\xff'), std::string::npos);
}

// The worker decodes jobs for this generator in forwarding mode: the messages go out as the
// job carried them, and the model reads the same request as from a job decoded in full.
TEST(BuildChatRequest, ForwardsTheMessagesAsTheJobCarriesThem) {
  queue::Job job = chat_job("Why \"this\"?\n caf\xc3\xa9 \xf0\x9f\x99\x82 tab\t");
  job.messages[0].content = "quote \" backslash \\ bell \x07";
  const std::string payload = queue::encode_job(job);
  auto full = queue::decode_job(payload);
  auto forwarded = queue::decode_job(payload, queue::JobDecoding::forwarding);
  ASSERT_TRUE(full && forwarded);
  ASSERT_FALSE(forwarded->messages_json.empty());
  const LlmConfig cfg = config_for("http://h");
  const std::string body = build_chat_request(*forwarded, cfg);
  EXPECT_NE(body.find(forwarded->messages_json), std::string::npos);
  EXPECT_EQ(json::parse(body), json::parse(build_chat_request(*full, cfg)));
  EXPECT_EQ(json::parse(body)["messages"][1]["content"], job.messages[1].content);
}

TEST(ParseChatResponse, ReadsTheAnswerAndUsage) {
  auto r = parse_chat_response(200, R"({"model":"m1","choices":[{"index":0,"message":{"role":"assistant",
      "content":"Hello."},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":3}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, "Hello.");
  EXPECT_EQ(r->model, "m1");
  EXPECT_EQ(r->finish_reason, "length");
  EXPECT_EQ(r->prompt_tokens, 12);
  EXPECT_EQ(r->completion_tokens, 3);
}

TEST(ParseChatResponse, DecodesEscapesAndToleratesOddUsage) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "line " + std::to_string(i) + " says \\\"caf\\u00e9\\\" \\ud83d\\ude42\\n";
  auto r = parse_chat_response(200, R"({"choices":[{"message":{"content":")" + text +
                                        R"("}}],"usage":{"prompt_tokens":1.5,"completion_tokens":-3}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->text.starts_with("line 0 says \"caf\xc3\xa9\" \xf0\x9f\x99\x82\n")) << r->text.substr(0, 40);
  EXPECT_TRUE(r->text.ends_with("line 299 says \"caf\xc3\xa9\" \xf0\x9f\x99\x82\n"));
  EXPECT_EQ(r->prompt_tokens, 0);
  EXPECT_EQ(r->completion_tokens, 0);
  EXPECT_TRUE(r->model.empty());

  auto null_content = parse_chat_response(200, R"({"choices":[{"message":{"content":null}}]})");
  ASSERT_FALSE(null_content.has_value());
  EXPECT_NE(null_content.error().message.find("no text content"), std::string::npos);
  EXPECT_FALSE(parse_chat_response(200, "{\"choices\":[{\"message\":{\"content\":\"\xff\"}}]}").has_value());
  EXPECT_FALSE(parse_chat_response(200, R"([1, 2])").has_value());
}

TEST(ParseChatResponse, NamesTheStatusAndKeepsTheUpstreamMessageForTheLog) {
  auto r = parse_chat_response(503, R"({"error":{"message":"model is overloaded","type":"server_error"}})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_EQ(r.error().message, "LLM returned HTTP 503");  // what a client may be told
  EXPECT_EQ(r.error().detail, "model is overloaded");      // the server's words: the log's

  auto long_body = parse_chat_response(500, std::string(5000, 'x'));
  ASSERT_FALSE(long_body.has_value());
  EXPECT_LT(long_body.error().detail.size(), 400u);

  auto not_json = parse_chat_response(200, "<html>secret internal page</html>");
  ASSERT_FALSE(not_json.has_value());
  EXPECT_EQ(not_json.error().message, "LLM returned a body that is not JSON");
  EXPECT_NE(not_json.error().detail.find("secret internal page"), std::string::npos);
}

// With as many idle connections kept as calls in flight, rounds of concurrent calls reuse
// the first round's connections; with fewer (the old fixed 64), every round past it opened
// new TCP connections for the calls beyond the cache.

TEST(BuildChatRequest, AsksForAStreamWithUsageWhenStreaming) {
  const auto body = json::parse(build_chat_request(chat_job("Why?"), config_for("http://h"), true));
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(json::parse(build_chat_request(chat_job("Why?"), config_for("http://h"))).at("stream"), false);
}

// Cancelling a streamed call mid-answer closes its connection, and the model server sees
// the client go away (fake-llm counts an aborted stream).

}  // namespace
}  // namespace ragd::llm
