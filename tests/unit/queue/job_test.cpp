#include "ragd/queue/job.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ragd::queue {
namespace {

Job sample_job() {
  Job job;
  job.id = "job-1";
  job.reply_to = "ragd:replies:gw-1";
  job.deadline_unix_ms = 1'900'000'000'123;
  job.priority = Priority::refresh;
  job.tenant = "acme";
  job.request_id = "req-9";
  job.model = "ragd-offline";
  job.max_tokens = 256;
  job.temperature = 0.5;
  job.messages = {{"system", "Be brief."}, {"user", "What is \"RAG\"?\nAnswer: ünïcode"}};
  job.question = "What is RAG?";
  job.passages = {{"doc-1", "doc-1#0", "Intro", "RAG retrieves, then generates.", 0.87},
                  {"doc-2", "doc-2#3", "", "", -0.5}};
  job.enqueued_unix_ms = 1'899'999'999'000;
  job.attempt = 2;
  return job;
}

std::string field_error(const std::string& payload) {
  auto r = decode_job(payload);
  EXPECT_FALSE(r) << payload;
  if (r) return {};
  EXPECT_EQ(r.error().code, Errc::bad_request);
  return r.error().message;
}

TEST(JobCodec, JobSurvivesARoundTrip) {
  const Job job = sample_job();
  auto back = decode_job(encode_job(job));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, job.id);
  EXPECT_EQ(back->reply_to, job.reply_to);
  EXPECT_EQ(back->deadline_unix_ms, job.deadline_unix_ms);
  EXPECT_EQ(back->priority, Priority::refresh);
  EXPECT_EQ(back->tenant, job.tenant);
  EXPECT_EQ(back->request_id, job.request_id);
  EXPECT_EQ(back->model, job.model);
  EXPECT_EQ(back->max_tokens, job.max_tokens);
  EXPECT_DOUBLE_EQ(back->temperature, job.temperature);
  ASSERT_EQ(back->messages.size(), 2u);
  EXPECT_EQ(back->messages[1].role, "user");
  EXPECT_EQ(back->messages[1].content, job.messages[1].content);
  EXPECT_EQ(back->question, job.question);
  ASSERT_EQ(back->passages.size(), 2u);
  EXPECT_EQ(back->passages[0].chunk_id, "doc-1#0");
  EXPECT_EQ(back->passages[0].title, "Intro");
  EXPECT_DOUBLE_EQ(back->passages[0].score, 0.87);
  EXPECT_DOUBLE_EQ(back->passages[1].score, -0.5);
  EXPECT_EQ(back->enqueued_unix_ms, job.enqueued_unix_ms);
  EXPECT_EQ(back->attempt, 2);
}

// A job shaped as the gateway builds it: the last (user) message fences each passage.
Job fenced_job() {
  Job job = sample_job();
  job.passages = {{"a.md", "a.md#0", "Alpha", "First passage text.\nSecond \"line\".", 0.9},
                  {"b.md", "b.md#2", "Beta", "Another passage, ünïcode.", 0.4}};
  std::string user = "Context passages:\n";
  for (std::size_t i = 0; i < job.passages.size(); ++i) {
    const auto& p = job.passages[i];
    const std::string n = std::to_string(i + 1);
    user += "<<<passage " + n + " source=\"" + p.doc_id + "\" title=\"" + p.title + "\">>>\n" + p.text +
            "\n<<<end passage " + n + ">>>\n";
  }
  user += "\nQuestion: what?";
  job.messages = {{"system", "Be brief."}, {"user", user}};
  return job;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

TEST(JobCodec, CompactJobsCarryEachPassageTextOnceAndDecodeWhole) {
  const Job job = fenced_job();
  const std::string compact = encode_job(job);
  const std::string full = encode_job(job, false);
  EXPECT_EQ(count_of(compact, "Another passage"), 1u) << compact;
  EXPECT_EQ(count_of(full, "Another passage"), 2u);
  EXPECT_NE(compact.find("\"passages_in_prompt\":true"), std::string::npos);
  EXPECT_EQ(full.find("passages_in_prompt"), std::string::npos);
  EXPECT_LT(compact.size(), full.size());
  for (const auto& payload : {compact, full}) {
    auto back = decode_job(payload);
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->passages.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(back->passages[i].text, job.passages[i].text);
      EXPECT_EQ(back->passages[i].title, job.passages[i].title);
      EXPECT_EQ(back->passages[i].chunk_id, job.passages[i].chunk_id);
    }
    EXPECT_EQ(back->messages[1].content, job.messages[1].content);
  }
}

TEST(JobCodec, APassageTheFenceDoesNotHoldExactlyTravelsInFull) {
  Job job = fenced_job();
  job.passages[1].text = "not what the fence says";  // e.g. broken up by fence_safe()
  const std::string payload = encode_job(job);
  EXPECT_EQ(payload.find("passages_in_prompt"), std::string::npos);
  auto back = decode_job(payload);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->passages[1].text, "not what the fence says");
  EXPECT_EQ(back->passages[0].text, job.passages[0].text);

  // Without a user message last, or with more passages than fences: in full as well.
  Job answered = fenced_job();
  answered.messages.push_back({"assistant", "..."});
  EXPECT_EQ(encode_job(answered).find("passages_in_prompt"), std::string::npos);
  Job extra = fenced_job();
  extra.passages.push_back({"c.md", "c.md#0", "", "unfenced", 0.1});
  EXPECT_EQ(encode_job(extra).find("passages_in_prompt"), std::string::npos);
  EXPECT_EQ(decode_job(encode_job(extra))->passages[2].text, "unfenced");
}

TEST(JobCodec, APromptWithoutTheFencesItClaimsIsRefused) {
  const std::string payload =
      R"({"id":"j","reply_to":"r","deadline_unix_ms":5,"messages":[{"role":"user","content":"no fences"}],)"
      R"("passages":[{"doc_id":"a","chunk_id":"a#0","score":1}],"passages_in_prompt":true})";
  EXPECT_NE(field_error(payload).find("'passages_in_prompt'"), std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":5,"passages_in_prompt":"yes"})")
                .find("'passages_in_prompt'"),
            std::string::npos);
}

TEST(JobCodec, MinimalJobGetsDefaults) {
  auto job = decode_job(R"({"id":"j","reply_to":"r","deadline_unix_ms":5})");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->priority, Priority::interactive);
  EXPECT_EQ(job->max_tokens, 512);
  EXPECT_TRUE(job->messages.empty());
  EXPECT_TRUE(job->passages.empty());
}

TEST(JobCodec, InvalidUtf8IsReplacedNotThrown) {
  Job job = sample_job();
  job.question = std::string("bad \xff\xfe bytes");
  auto back = decode_job(encode_job(job));
  ASSERT_TRUE(back);
  EXPECT_NE(back->question.find("bad "), std::string::npos);
}

TEST(JobCodec, MalformedJobsNameTheBadField) {
  EXPECT_NE(field_error("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(field_error("[1,2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(field_error(R"({"reply_to":"r","deadline_unix_ms":1})").find("'id'"), std::string::npos);
  EXPECT_NE(field_error(R"({"id":"","reply_to":"r","deadline_unix_ms":1})").find("'id'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":"soon"})")
                .find("'deadline_unix_ms'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"priority":"urgent"})")
                .find("'priority'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"max_tokens":1e99})")
                .find("'max_tokens'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"max_tokens":99999999999})")
                .find("'max_tokens'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,
                            "messages":[{"role":"user","content":"hi"},{"role":"user"}]})")
                .find("'messages[1].content'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"passages":{}})")
                .find("'passages'"),
            std::string::npos);
  EXPECT_NE(field_error(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"passages":[{"score":"high"}]})")
                .find("'passages[0].score'"),
            std::string::npos);
}

// The worker's forwarding decode: the messages stay as they came, checked; the rest as in full.
TEST(JobCodec, ForwardingDecodeKeepsTheMessagesTextAndDecodesTheRest) {
  const Job job = fenced_job();
  for (const bool compact : {true, false}) {
    const std::string payload = encode_job(job, compact);
    auto full = decode_job(payload);
    auto fwd = decode_job(payload, JobDecoding::forwarding);
    ASSERT_TRUE(full) << full.error().message;
    ASSERT_TRUE(fwd) << fwd.error().message;
    EXPECT_TRUE(fwd->messages.empty());
    EXPECT_TRUE(full->messages_json.empty());
    // The array as it is in the payload.
    const std::size_t at = payload.find("\"messages\":") + std::string("\"messages\":").size();
    EXPECT_EQ(fwd->messages_json, payload.substr(at, fwd->messages_json.size()));
    const auto messages = nlohmann::json::parse(fwd->messages_json);
    ASSERT_EQ(messages.size(), job.messages.size());
    for (std::size_t i = 0; i < job.messages.size(); ++i) {
      EXPECT_EQ(messages[i], nlohmann::json({{"role", job.messages[i].role}, {"content", job.messages[i].content}}));
    }
    EXPECT_EQ(fwd->id, full->id);
    EXPECT_EQ(fwd->reply_to, full->reply_to);
    EXPECT_EQ(fwd->deadline_unix_ms, full->deadline_unix_ms);
    EXPECT_EQ(fwd->priority, full->priority);
    EXPECT_EQ(fwd->model, full->model);
    EXPECT_EQ(fwd->max_tokens, full->max_tokens);
    EXPECT_EQ(fwd->question, full->question);
    EXPECT_EQ(fwd->attempt, full->attempt);
    ASSERT_EQ(fwd->passages.size(), full->passages.size());
    for (std::size_t i = 0; i < fwd->passages.size(); ++i) {
      EXPECT_EQ(fwd->passages[i].chunk_id, full->passages[i].chunk_id);
      EXPECT_EQ(fwd->passages[i].title, full->passages[i].title);
      // Texts the prompt carries are not cut out of it.
      EXPECT_EQ(fwd->passages[i].text, compact ? "" : full->passages[i].text);
    }
  }
}

TEST(JobCodec, ForwardingDecodeRefusesWhatFullDecodeRefuses) {
  const std::string head = R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"messages":)";
  for (const std::string messages :
       {R"({})", R"(["hi"])", R"([{"role":"user"}])", R"([{"role":"user","content":7}])",
        R"([{"role":null,"content":"x"}])", R"([{"role":"user","content":"bad \q escape"}])",
        "[{\"role\":\"user\",\"content\":\"bad \xff byte\"}]", "[{\"role\":\"user\",\"content\":\"raw \x01\"}]",
        R"([{"role":"user","content":"unterminated}])"}) {
    const std::string payload = head + messages + "}";
    auto full = decode_job(payload);
    auto fwd = decode_job(payload, JobDecoding::forwarding);
    ASSERT_FALSE(full) << payload;
    ASSERT_FALSE(fwd) << payload;
    EXPECT_EQ(fwd.error().code, Errc::bad_request);
    EXPECT_EQ(fwd.error().message, full.error().message);
  }
}

TEST(JobCodec, ForwardingDecodeDecodesInFullWhatItCouldNotForwardAsIs) {
  // A member other than role and content would reach the model: decoded, it is dropped.
  auto named = decode_job(R"({"id":"j","reply_to":"r","deadline_unix_ms":1,
      "messages":[{"role":"user","content":"hi","name":"alice"}]})",
                          JobDecoding::forwarding);
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_TRUE(named->messages_json.empty());
  ASSERT_EQ(named->messages.size(), 1u);
  EXPECT_EQ(named->messages[0].content, "hi");
  // No messages: nothing to forward, and the question stands in for them.
  for (const char* payload : {R"({"id":"j","reply_to":"r","deadline_unix_ms":1,"messages":[]})",
                              R"({"id":"j","reply_to":"r","deadline_unix_ms":1})"}) {
    auto none = decode_job(payload, JobDecoding::forwarding);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->messages_json.empty());
    EXPECT_TRUE(none->messages.empty());
  }
}

TEST(JobReplyCodec, ReplySurvivesARoundTrip) {
  JobReply reply;
  reply.job_id = "job-1";
  reply.ok = true;
  reply.text = "RAG means retrieval-augmented generation.";
  reply.model = "m";
  reply.prompt_tokens = 120;
  reply.completion_tokens = 12;
  reply.queue_wait_ms = 3.5;
  reply.llm_ms = 250.25;
  reply.worker = "worker-a";
  auto back = decode_reply(encode_reply(reply));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->job_id, reply.job_id);
  EXPECT_TRUE(back->ok);
  EXPECT_EQ(back->text, reply.text);
  EXPECT_EQ(back->model, "m");
  EXPECT_EQ(back->prompt_tokens, 120);
  EXPECT_EQ(back->completion_tokens, 12);
  EXPECT_DOUBLE_EQ(back->queue_wait_ms, 3.5);
  EXPECT_DOUBLE_EQ(back->llm_ms, 250.25);
  EXPECT_EQ(back->worker, "worker-a");

  JobReply failed;
  failed.job_id = "job-2";
  failed.error_code = "deadline_exceeded";
  failed.error_message = "too late";
  auto back2 = decode_reply(encode_reply(failed));
  ASSERT_TRUE(back2);
  EXPECT_FALSE(back2->ok);
  EXPECT_EQ(back2->error_code, "deadline_exceeded");
  EXPECT_EQ(back2->error_message, "too late");
}

TEST(JobReplyCodec, MalformedRepliesNameTheBadField) {
  auto no_id = decode_reply(R"({"ok":true})");
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, Errc::bad_request);
  EXPECT_NE(no_id.error().message.find("'job_id'"), std::string::npos);
  auto bad_ok = decode_reply(R"({"job_id":"j","ok":"yes"})");
  ASSERT_FALSE(bad_ok);
  EXPECT_NE(bad_ok.error().message.find("'ok'"), std::string::npos);
  auto not_json = decode_reply("");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code, Errc::bad_request);
}

}  // namespace
}  // namespace ragd::queue

namespace ragd::queue {
namespace {

TEST(JobCodec, CarriesTheTraceparent) {
  Job job = sample_job();
  job.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto back = decode_job(encode_job(job));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->traceparent, job.traceparent);
  auto forwarded = decode_job(encode_job(job), JobDecoding::forwarding);
  ASSERT_TRUE(forwarded) << forwarded.error().message;
  EXPECT_EQ(forwarded->traceparent, job.traceparent);
}

TEST(JobCodec, JobsWithoutATraceparentStillDecode) {
  // A job as gateways wrote it before the field existed.
  const std::string old = R"({"id":"j1","reply_to":"ragd:replies:gw","deadline_unix_ms":1900000000000,)"
                          R"("priority":"interactive","tenant":"","request_id":"r1","model":"m",)"
                          R"("max_tokens":64,"temperature":0.2,"messages":[{"role":"user","content":"hi"}],)"
                          R"("question":"hi","passages":[],"enqueued_unix_ms":1,"attempt":0})";
  auto job = decode_job(old);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->traceparent, "");
  EXPECT_EQ(job->request_id, "r1");
  // And a job without one writes no field.
  EXPECT_EQ(encode_job(*job).find("traceparent"), std::string::npos);
}

}  // namespace
}  // namespace ragd::queue
