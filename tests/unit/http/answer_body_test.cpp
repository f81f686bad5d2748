#include "ragd/http/answer_body.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace ragd::http {
namespace {

using json = nlohmann::json;

orchestrator::QueryResult computed() {
  orchestrator::QueryResult r;
  r.answer = "Bees make honey [1].";
  r.model = "m";
  r.prompt_tokens = 10;
  r.completion_tokens = 5;
  r.sources.push_back({"bees.md", "bees.md#0", "Bees", "Bees make honey.", 0.5});
  return r;
}

// The result as the cache keeps it: the rendered body and the answer's text, nothing else.
orchestrator::QueryResult rendered_only(std::shared_ptr<const std::string> body, std::string_view answer) {
  orchestrator::QueryResult r;
  r.rendered = orchestrator::RenderedAnswer{body, *body, answer};
  return r;
}

// The parts of computed(), wherever they were read from.
void expect_computed_parts(const AnswerParts& parts) {
  EXPECT_EQ(parts.answer, "Bees make honey [1].");
  EXPECT_EQ(parts.model, "m");
  EXPECT_EQ(parts.prompt_tokens, 10);
  EXPECT_EQ(parts.completion_tokens, 5);
  auto sources = json::parse(parts.sources_json);
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0]["doc_id"], "bees.md");
  EXPECT_EQ(sources[0]["chunk_id"], "bees.md#0");
  EXPECT_EQ(sources[0]["text"], "Bees make honey.");
}

TEST(AnswerParts, ACacheHitIsReadBackFromTheBodyTheCacheKept) {
  const auto full = computed();
  auto body = std::make_shared<const std::string>(render_answer_body(full));
  expect_computed_parts(answer_parts(rendered_only(body, full.answer)));
}

TEST(AnswerParts, AComputedAnswerIsTakenFromItsFieldsNotParsedFromItsRenderedBody) {
  // A miss keeps its fields beside the body rendered for the cache; the body is not read
  // (here it holds nothing, so any value taken from it would show).
  auto r = computed();
  auto body = std::make_shared<const std::string>("{}");
  r.rendered = orchestrator::RenderedAnswer{body, *body, r.answer};
  expect_computed_parts(answer_parts(r));
}

}  // namespace
}  // namespace ragd::http
