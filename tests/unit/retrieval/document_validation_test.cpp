#include "ragd/retrieval/document_validation.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ragd::retrieval {
namespace {

std::string rejection(std::string_view id) {
  auto ok = validate_document_id(id);
  if (ok) return "accepted";
  EXPECT_EQ(ok.error().code, Errc::bad_request);
  return ok.error().message;
}

TEST(DocumentValidation, IdsThatAreEmptyBlankOrHoldControlCharactersAreRefusedSayingWhy) {
  EXPECT_EQ(rejection(""), "document id is empty");
  EXPECT_EQ(rejection("   "), "document id is only whitespace");
  EXPECT_EQ(rejection(std::string("a\0b", 3)), "document id contains a control character (0x00)");
  EXPECT_EQ(rejection("evil\x1b[2J"), "document id contains a control character (0x1b)");
  EXPECT_EQ(rejection("two\nlines"), "document id contains a control character (0x0a)");
  EXPECT_EQ(rejection("cr\r"), "document id contains a control character (0x0d)");
  EXPECT_EQ(rejection("tab\there"), "document id contains a control character (0x09)");
  EXPECT_EQ(rejection("del\x7f"), "document id contains a control character (0x7f)");
  EXPECT_EQ(rejection(std::string(kMaxDocumentIdChars + 1, 'x')), "document id is longer than 256 characters");
}

TEST(DocumentValidation, IdsWithSlashesSpacesAndUnicodeAreAccepted) {
  EXPECT_EQ(rejection("docs/operations.md"), "accepted");
  EXPECT_EQ(rejection("sub/dir/file name.md"), "accepted");
  EXPECT_EQ(rejection("caf\xC3\xA9"), "accepted");
  EXPECT_EQ(rejection(std::string(kMaxDocumentIdChars, 'x')), "accepted");
}

TEST(DocumentValidation, ABatchNamesTheFirstBadDocumentAndField) {
  RetrievalConfig limits;
  limits.max_document_chars = 10;
  auto check = [&](std::vector<Document> docs, std::size_t max_documents = kAnyDocumentCount) {
    auto ok = validate_documents(docs, limits, max_documents);
    return ok ? std::string("accepted") : ok.error().message;
  };
  EXPECT_EQ(check({{"a", "", "fine"}}), "accepted");
  EXPECT_EQ(check({}), "documents is empty");
  EXPECT_EQ(check({{"a", "", "x"}, {"b", "", "y"}, {"c", "", "z"}}, 2),
            "documents holds 3 documents; at most 2 are accepted per request");
  EXPECT_EQ(check({{"a", "", "fine"}, {"\x1b", "", "x"}}), "documents[1].id contains a control character (0x1b)");
  EXPECT_EQ(check({{"a", "", "fine"}, {" \t", "", "x"}}), "documents[1].id contains a control character (0x09)");
  EXPECT_EQ(check({{"a", "", "fine"}, {"  ", "", "x"}}), "documents[1].id is only whitespace");
  EXPECT_EQ(check({{"a", "", " \n "}}), "documents[0].text is empty");
  EXPECT_EQ(check({{"a", "", "longer than ten"}}), "documents[0].text is longer than 10 characters");
  EXPECT_EQ(check({{"a", std::string(kMaxDocumentTitleChars + 1, 't'), "x"}}),
            "documents[0].title is longer than 1024 characters");
  EXPECT_EQ(check({{"a", "", "x", std::string(kMaxMetadataBytes + 1, 'm')}}),
            "documents[0].metadata is longer than 4096 bytes as JSON");
  EXPECT_EQ(check({{"a", "", "x"}, {"a", "", "y"}}), "documents[1].id repeats documents[0].id \"a\"");
}

}  // namespace
}  // namespace ragd::retrieval
