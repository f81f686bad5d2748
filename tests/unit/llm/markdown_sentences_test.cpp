#include "ragd/llm/markdown_sentences.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ragd::llm {
namespace {

using Sentences = std::vector<std::string>;

TEST(MarkdownSentences, JoinsTheWrappedLinesOfAParagraph) {
  const std::string md =
      "Replicas apply the change log in order and at\n"
      "the same sequence numbers, so two replicas never\n"
      "have diverged for long. A replica that falls behind catches up.\n";
  EXPECT_EQ(markdown_sentences(md),
            (Sentences{"Replicas apply the change log in order and at the same sequence numbers, so two "
                       "replicas never have diverged for long.",
                       "A replica that falls behind catches up."}));
}

TEST(MarkdownSentences, SplitsOnlyWhereASentenceEnds) {
  const std::string md =
      "Version 1.5 reads `cfg.max_tokens. Not` here, e.g. in the worker. Dr. Smith agreed! "
      "Did it (really)? Yes. \"Quoted.\" Then more.";
  EXPECT_EQ(markdown_sentences(md),
            (Sentences{"Version 1.5 reads `cfg.max_tokens. Not` here, e.g. in the worker.", "Dr. Smith agreed!",
                       "Did it (really)?", "Yes.", "\"Quoted.\"", "Then more."}));
}

TEST(MarkdownSentences, LeavesTablesOutAndNeverJoinsTheirCells) {
  const std::string md =
      "The keys are listed below. Each key has a tenant.\n"
      "\n"
      "| key | tenant |\n"
      "|-----|--------|\n"
      "| abc. | one. |\n"
      "| def | two |\n"
      "\n"
      "key | value\n"
      "--- | ---\n"
      "a | b\n"
      "\n"
      "After the table. The end.\n";
  EXPECT_EQ(markdown_sentences(md), (Sentences{"The keys are listed below.", "Each key has a tenant.",
                                               "After the table.", "The end."}));
}

TEST(MarkdownSentences, MakesEachListItemItsOwnText) {
  const std::string md =
      "Steps to follow\n"
      "\n"
      "- Start Redis first. It holds the queue\n"
      "  and the caches.\n"
      "- Run the gateway\n"
      "* Then the workers.\n"
      "1. Numbered items count too.\n"
      "2) And this one.\n"
      "\n"
      "    indented continuation of the list item is prose too.\n";
  EXPECT_EQ(markdown_sentences(md),
            (Sentences{"Steps to follow", "Start Redis first.", "It holds the queue and the caches.",
                       "Run the gateway", "Then the workers.", "Numbered items count too.", "And this one.",
                       "indented continuation of the list item is prose too."}));
}

TEST(MarkdownSentences, LeavesHeadingsRulesAndHtmlOut) {
  const std::string md =
      "# Operations\n"
      "Scale the workers.\n"
      "\n"
      "Setext heading\n"
      "==============\n"
      "\n"
      "Another heading\n"
      "---\n"
      "<!-- a comment. -->\n"
      "***\n"
      "> Quoted text is prose.\n"
      "> It wraps.\n";
  EXPECT_EQ(markdown_sentences(md),
            (Sentences{"Scale the workers.", "Quoted text is prose.", "It wraps."}));
}

TEST(MarkdownSentences, KeepsCodeBlocksOutOfProse) {
  const std::string md =
      "Run this. Then check.\n"
      "\n"
      "```bash\n"
      "curl -s http://x/query. Run it.\n"
      "```\n"
      "\n"
      "    indented_code(). Not prose.\n"
      "\n"
      "~~~\n"
      "More code. Here.\n"
      "~~~\n"
      "Back to prose.\n";
  EXPECT_EQ(markdown_sentences(md), (Sentences{"Run this.", "Then check.", "Back to prose."}));
}

TEST(MarkdownSentences, APassageThatStartsInsideACodeBlockLeavesItsTailOut) {
  const std::string md =
      "echo started. Done.\n"
      "```\n"
      "Then the prose resumes.\n"
      "\n"
      "```python\n"
      "print('unclosed. Block.')\n";
  EXPECT_EQ(markdown_sentences(md), (Sentences{"Then the prose resumes."}));
}

TEST(MarkdownSentences, DropsThePiecesAChunkCutMayHaveLeft) {
  // The chunker cut this passage mid-sentence at both ends.
  const std::string md =
      "with the tenant each names. API keys are configured in the file.\n"
      "The gateway reloads them on SIGHUP and";
  EXPECT_EQ(markdown_sentences(md),
            (Sentences{"API keys are configured in the file."}));
  // Ends that are whole stay.
  EXPECT_EQ(markdown_sentences("Whole. Sentences.\n"), (Sentences{"Whole.", "Sentences."}));
  // A sentence introducing what follows is not quoted without it.
  EXPECT_EQ(markdown_sentences("It checks three things:\n\n- Redis is reachable.\n"),
            (Sentences{"Redis is reachable."}));
}

// Whitespace collapsed, and the layout at the start of each line (quote and list markers)
// removed: the text a sentence must be a run of.
std::string prose_of(const std::string& md) {
  std::string out;
  std::istringstream in(md);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = line;
    for (;;) {
      while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
      if (l.starts_with("> ") || l == ">") l.remove_prefix(std::min<std::size_t>(2, l.size()));
      else if (l.starts_with("- ") || l.starts_with("* ") || l.starts_with("+ ")) l.remove_prefix(2);
      else break;
    }
    std::size_t digits = 0;
    while (digits < l.size() && std::isdigit(static_cast<unsigned char>(l[digits]))) ++digits;
    if (digits > 0 && digits + 1 < l.size() && (l[digits] == '.' || l[digits] == ')') && l[digits + 1] == ' ') {
      l.remove_prefix(digits + 2);
    }
    for (char c : l) {
      if (c == '\t' || c == '\r') c = ' ';
      if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
      out += c;
    }
    if (!out.empty() && out.back() != ' ') out += ' ';
  }
  return out;
}

// Passages cut out of `text` at word boundaries, about `size` bytes each, starting every
// `step` bytes: anywhere, as a chunker's cuts may fall (mid-sentence, mid-table, mid-code).
std::vector<std::string> passages_of(const std::string& text, std::size_t size, std::size_t step) {
  auto space = [&](std::size_t i) { return std::isspace(static_cast<unsigned char>(text[i])) != 0; };
  std::vector<std::string> out;
  for (std::size_t p = 0; p < text.size(); p += step) {
    std::size_t begin = p;
    while (begin > 0 && begin < text.size() && !space(begin - 1)) ++begin;  // next word start
    while (begin < text.size() && space(begin)) ++begin;
    std::size_t end = std::min(text.size(), begin + size);
    while (end < text.size() && end > begin && !space(end)) --end;
    if (end > begin) out.push_back(text.substr(begin, end - begin));
  }
  return out;
}

TEST(MarkdownSentences, EverySentenceOfPassagesCutAnywhereInTheProjectsDocsIsASentenceOfTheSource) {
  // The documents the quick start indexes.
  std::vector<std::filesystem::path> files = {test::source_path("README.md")};
  for (const auto& e : std::filesystem::directory_iterator(test::source_path("docs"))) {
    if (e.path().extension() == ".md") files.push_back(e.path());
  }
  ASSERT_GE(files.size(), 4u);
  std::size_t sentences = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = prose_of(text.str());
    for (const std::string& passage : passages_of(text.str(), 900, 331)) {
      for (const std::string& s : markdown_sentences(passage)) {
        ++sentences;
        EXPECT_NE(source.find(s), std::string::npos) << file << ": " << s;
        EXPECT_EQ(s.find("```"), std::string::npos) << file << ": " << s;
        EXPECT_FALSE(s.starts_with("|") || s.ends_with("|")) << file << ": " << s;
        EXPECT_NE(s.back(), ':') << file << ": " << s;
      }
    }
  }
  EXPECT_GT(sentences, 300u);
}

}  // namespace
}  // namespace ragd::llm
