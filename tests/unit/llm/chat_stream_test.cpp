#include "ragd/llm/chat_stream.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ragd::llm {
namespace {

std::string chunk(const std::string& content) {
  return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m1\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
}

const std::string kStream =
    ": a comment line\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
    chunk("Hello") + chunk(", w\\u00f6rld") + chunk(" [1].") +
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m1\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m1\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}\n\n"
    "data: [DONE]\n\n";

TEST(ChatStreamReader, HandsOnEachDeltaAndKeepsTheAnswerModelReasonAndUsage) {
  ChatStreamReader reader;
  std::vector<std::string> deltas;
  ASSERT_TRUE(reader.feed(kStream, [&](std::string_view d) { deltas.emplace_back(d); }));
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(deltas, (std::vector<std::string>{"Hello", ", w\xc3\xb6rld", " [1]."}));
  EXPECT_EQ(reader.result().text, "Hello, w\xc3\xb6rld [1].");
  EXPECT_EQ(reader.result().model, "m1");
  EXPECT_EQ(reader.result().finish_reason, "stop");
  EXPECT_EQ(reader.result().prompt_tokens, 12);
  EXPECT_EQ(reader.result().completion_tokens, 3);
}

TEST(ChatStreamReader, ReadsTheSameFedOneByteAtATime) {
  ChatStreamReader reader;
  std::string text;
  for (char c : kStream) ASSERT_TRUE(reader.feed(std::string_view(&c, 1), [&](std::string_view d) { text += d; }));
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(text, "Hello, w\xc3\xb6rld [1].");
}

TEST(ChatStreamReader, AnErrorEventEndsTheStreamWithTheUpstreamsMessageKeptForTheLog) {
  ChatStreamReader reader;
  EXPECT_FALSE(reader.feed(chunk("partial") + "data: {\"error\":{\"message\":\"model overloaded\"}}\n\n", {}));
  ASSERT_TRUE(reader.error());
  EXPECT_EQ(reader.error()->code, Errc::upstream_error);
  EXPECT_EQ(reader.error()->message, "LLM reported an error mid-stream");
  EXPECT_EQ(reader.error()->detail, "model overloaded");
  EXPECT_FALSE(reader.done());
}

TEST(ChatStreamReader, RefusesAnEventThatIsNotJson) {
  ChatStreamReader reader;
  EXPECT_FALSE(reader.feed("data: {not json\n\n", {}));
  EXPECT_EQ(reader.error()->code, Errc::upstream_error);
}

TEST(ChatStreamReader, RefusesALineLongerThanItsBoundInsteadOfGrowing) {
  ChatStreamReader reader(64);
  EXPECT_TRUE(reader.feed("data: " + std::string(50, 'x'), {}));
  EXPECT_FALSE(reader.feed(std::string(50, 'x'), {}));
  EXPECT_NE(reader.error()->message.find("longer than 64 bytes"), std::string::npos);
}

}  // namespace
}  // namespace ragd::llm
