// RemoteEmbedder's pure parts: the endpoint, the request body, the parse of the answer, and
// the identity its snapshots carry. Calls against the fake model server are
// tests/integration/remote_embedder_test.cpp.
#include "ragd/retrieval/remote_embedder.hpp"

#include "ragd/core/base64.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ragd::retrieval {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

TEST(EmbeddingsUrl, AcceptsBaseUrlsWithOrWithoutV1) {
  EXPECT_EQ(embeddings_url("http://h:8000"), "http://h:8000/v1/embeddings");
  EXPECT_EQ(embeddings_url("http://h:8000/v1/"), "http://h:8000/v1/embeddings");
}

TEST(BuildEmbeddingsRequest, SendsTheModelAndTheTextsInOrder) {
  json body = json::parse(build_embeddings_request("m", {"a", "b"}));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["input"], json::array({"a", "b"}));
}

TEST(BuildEmbeddingsRequest, AsksForBase64OnlyWhenTold) {
  EXPECT_FALSE(json::parse(build_embeddings_request("m", {"a"})).contains("encoding_format"));
  EXPECT_EQ(json::parse(build_embeddings_request("m", {"a"}, true))["encoding_format"], "base64");
}

TEST(ParseEmbeddingsResponse, ReadsBase64VectorsLikeFloatArrays) {
  const std::vector<float> a{3, 4}, b{0, 2};
  const std::string body = R"({"data":[{"index":1,"embedding":")" + base64_encode_floats(b) +
                           R"("},{"index":0,"embedding":[3,4]}]})";
  auto r = parse_embeddings_response(body, 2, 2);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FLOAT_EQ((*r)[0], 0.6f);
  EXPECT_FLOAT_EQ((*r)[1], 0.8f);
  EXPECT_FLOAT_EQ((*r)[2], 0.0f);
  EXPECT_FLOAT_EQ((*r)[3], 1.0f);
  const std::string only_base64 = R"({"data":[{"embedding":")" + base64_encode_floats(a) + R"("}]})";
  auto one = parse_embeddings_response(only_base64, 1, 2);
  ASSERT_TRUE(one.has_value()) << one.error().message;
  EXPECT_FLOAT_EQ((*one)[1], 0.8f);
}

TEST(ParseEmbeddingsResponse, RejectsBadBase64AndNamesTheDimOfAShortVector) {
  auto bad = parse_embeddings_response(R"({"data":[{"embedding":"AACAP!AAgD8="}]})", 1, 2);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("not valid base64"), std::string::npos) << bad.error().message;
  const std::vector<float> three{1, 2, 3};
  auto dim = parse_embeddings_response(R"({"data":[{"embedding":")" + base64_encode_floats(three) + R"("}]})", 1, 2);
  ASSERT_FALSE(dim.has_value());
  EXPECT_NE(dim.error().message.find("dim 3, expected 2"), std::string::npos) << dim.error().message;
  auto ragged = parse_embeddings_response(R"({"data":[{"embedding":"AAA="}]})", 1, 2);  // 2 bytes
  ASSERT_FALSE(ragged.has_value());
  EXPECT_NE(ragged.error().message.find("whole number of float32"), std::string::npos) << ragged.error().message;
}

TEST(ParseEmbeddingsResponse, PlacesVectorsByIndexAndNormalisesThem) {
  auto r = parse_embeddings_response(
      R"({"data":[{"index":1,"embedding":[0,2]},{"index":0,"embedding":[3,4]}]})", 2, 2);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FLOAT_EQ((*r)[0], 0.6f);
  EXPECT_FLOAT_EQ((*r)[1], 0.8f);
  EXPECT_FLOAT_EQ((*r)[2], 0.0f);
  EXPECT_FLOAT_EQ((*r)[3], 1.0f);
}

TEST(ParseEmbeddingsResponse, RejectsMalformedAnswers) {
  EXPECT_FALSE(parse_embeddings_response("not json", 1, 2).has_value());
  EXPECT_FALSE(parse_embeddings_response(R"({"data":[]})", 1, 2).has_value());
  EXPECT_FALSE(parse_embeddings_response(R"({"data":[{"index":5,"embedding":[1,2]}]})", 1, 2).has_value());
  EXPECT_FALSE(parse_embeddings_response(R"({"data":[{"index":0,"embedding":[1,"x"]}]})", 1, 2).has_value());
  auto dup = parse_embeddings_response(
      R"({"data":[{"index":0,"embedding":[1,0]},{"index":0,"embedding":[0,1]}]})", 2, 2);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message.find("repeats index 0"), std::string::npos) << dup.error().message;
}

TEST(RemoteEmbedder, IdentityNamesModelAndDimAndDiffersFromTheHashEmbedders) {
  asio::io_context io;
  EmbedderConfig cfg;
  cfg.base_url = "http://127.0.0.1:1";
  cfg.model = "m1";
  cfg.dim = 64;
  RemoteEmbedder a(io.get_executor(), cfg, "");
  cfg.model = "m2";
  RemoteEmbedder b(io.get_executor(), cfg, "");
  EXPECT_EQ(a.identity(), "openai/m1/64");
  EXPECT_NE(a.snapshot_version(), b.snapshot_version());
  EXPECT_NE(a.snapshot_version(), HashEmbedder::version());
}
}  // namespace
}  // namespace ragd::retrieval
