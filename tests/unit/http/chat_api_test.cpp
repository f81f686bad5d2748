#include "ragd/http/chat_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace ragd;
using namespace ragd::http;
using json = nlohmann::json;

namespace {

Result<ChatRequest> parse(const json& body) { return parse_chat_body(body.dump(), QueryConfig{}); }

std::vector<json> events(const std::string& stream) {
  std::vector<json> out;
  std::size_t pos = 0;
  while ((pos = stream.find("data: ", pos)) != std::string::npos) {
    auto end = stream.find("\n\n", pos);
    std::string data = stream.substr(pos + 6, end - pos - 6);
    out.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    pos = end;
  }
  return out;
}

}  // namespace

TEST(ChatApi, TheLastUserMessageIsTheQuestionAndEarlierOnesTheConversation) {
  auto r = parse({{"model", "ragd"},
                  {"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                            {{"role", "user"}, {"content", "What do bees make?"}},
                                            {{"role", "assistant"}, {"content", "Honey [1]."}},
                                            {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "And wasps?"}}})}}})},
                  {"stream", true},
                  {"stream_options", {{"include_usage", true}}},
                  {"max_tokens", 64},
                  {"temperature", 0.7},
                  {"user", "u1"},
                  {"top_p", 0.9}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "ragd");
  EXPECT_TRUE(r->include_usage);
  const auto& q = r->query;
  EXPECT_EQ(q.query, "And wasps?");
  ASSERT_EQ(q.turns.size(), 1u);
  EXPECT_EQ(q.turns[0].question, "What do bees make?");
  EXPECT_EQ(q.turns[0].answer, "Honey [1].");
  EXPECT_EQ(q.instructions, std::vector<std::string>{"Be brief."});
  EXPECT_TRUE(q.stream);
  EXPECT_EQ(q.max_tokens, 64);
  EXPECT_DOUBLE_EQ(q.temperature, 0.7);
  EXPECT_EQ(q.user_id, "u1");
}

TEST(ChatApi, BadBodiesAreFourHundredsNamingTheField) {
  auto user = [](std::string text) { return json::array({{{"role", "user"}, {"content", std::move(text)}}}); };
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"messages", user("hi")}}, "'model'"},
      {{{"model", "ragd"}}, "'messages'"},
      {{{"model", "ragd"}, {"messages", json::array()}}, "'messages'"},
      {{{"model", "ragd"}, {"messages", json::array({{{"role", "assistant"}, {"content", "x"}}})}}, "last message"},
      {{{"model", "ragd"}, {"messages", json::array({{{"role", "robot"}, {"content", "x"}}})}}, "role"},
      {{{"model", "ragd"}, {"messages", user("hi")}, {"temperature", 3}}, "'temperature'"},
      {{{"model", "ragd"}, {"messages", user("hi")}, {"max_tokens", 0}}, "'max_tokens'"},
      {{{"model", "ragd"}, {"messages", user("hi")}, {"n", 2}}, "'n'"},
      {{{"model", "ragd"}, {"messages", user("hi")}, {"tools", json::array()}}, "'tools'"},
      {{{"model", "ragd"}, {"messages", user("hi")}, {"stream", "yes"}}, "'stream'"},
      {{{"model", "ragd"}, {"messages", user(std::string(5000, 'a'))}}, "longer than"},
  };
  for (const auto& [body, needle] : cases) {
    auto r = parse(body);
    ASSERT_FALSE(r) << body.dump();
    EXPECT_EQ(r.error().code, Errc::bad_request);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message << " for " << body.dump();
  }
  EXPECT_FALSE(parse_chat_body("{not json", QueryConfig{}));
}

TEST(ChatApi, AnUnknownModelIsOpenAisModelNotFound) {
  auto j = json::parse(model_not_found_body("gpt-9"));
  EXPECT_EQ(j["error"]["code"], "model_not_found");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "model");
}

TEST(ChatApi, ACompletionCarriesTheAnswerUsageAndTheRagdObject) {
  orchestrator::QueryResult r;
  r.request_id = "req1";
  r.cache = "miss";
  r.answer = "Bees make honey [1].";
  r.model = "m";
  r.prompt_tokens = 10;
  r.completion_tokens = 5;
  r.sources.push_back({"bees.md", "bees.md#0", "Bees", "Bees make honey.", 0.5});
  auto j = json::parse(render_chat_completion({"chatcmpl-req1", 1700000000, "ragd"}, r, answer_parts(r)));
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "ragd");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Bees make honey [1].");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["total_tokens"], 15);
  EXPECT_EQ(j["ragd"]["request_id"], "req1");
  EXPECT_EQ(j["ragd"]["cache"], "miss");
  EXPECT_EQ(j["ragd"]["sources"][0]["doc_id"], "bees.md");
  EXPECT_TRUE(j["ragd"]["timings_ms"].is_object());
}

TEST(ChatApi, ChunksStartWithTheRoleAndEndWithUsageAndDone) {
  ChatIdentity id{"chatcmpl-x", 1700000000, "ragd"};
  orchestrator::QueryResult r;
  r.cache = "hit";
  AnswerParts parts;
  parts.prompt_tokens = 3;
  parts.completion_tokens = 4;
  auto all = events(chat_chunk_first(id, "[]", true) + chat_chunk_delta(id, "Hello", true) +
                    chat_chunk_last(id, r, parts, true));
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(all[0]["ragd"]["sources"].is_array());
  EXPECT_TRUE(all[0]["usage"].is_null());
  EXPECT_EQ(all[1]["choices"][0]["delta"]["content"], "Hello");
  EXPECT_EQ(all[2]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(all[2]["ragd"]["cache"], "hit");
  EXPECT_TRUE(all[3]["choices"].empty());
  EXPECT_EQ(all[3]["usage"]["total_tokens"], 7);
  EXPECT_EQ(all[4], "[DONE]");
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(all[i]["object"], "chat.completion.chunk");
  // Without include_usage: no usage field, no usage chunk.
  auto plain = events(chat_chunk_last(id, r, parts, false));
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_FALSE(plain[0].contains("usage"));
  EXPECT_EQ(chat_chunk_error(make_error(Errc::upstream_error, "x")).rfind("data: {\"error\":", 0), 0u);
}

TEST(ChatApi, TakesRagdsFilterAndRefusesAMalformedOne) {
  const json messages = json::array({{{"role", "user"}, {"content", "What do bees make?"}}});
  auto r = parse({{"model", "ragd"}, {"messages", messages}, {"filter", {{"lang", "en"}}}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->query.filter);
  EXPECT_TRUE(r->query.filter->matches(json{{"lang", "en"}}));
  EXPECT_FALSE(r->query.filter->matches(json{{"lang", "fr"}}));
  auto bad = parse({{"model", "ragd"}, {"messages", messages}, {"filter", {{"year", {{"$lt", "x"}}}}}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'filter.year.$lt' must be a number"), std::string::npos) << bad.error().message;
}
