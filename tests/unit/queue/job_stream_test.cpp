// The delta entries of a streamed job: the XADD a worker writes and its parse on the asking
// side.
#include "ragd/queue/job_stream.hpp"

#include <gtest/gtest.h>

namespace ragd::queue {
namespace {

TEST(JobStream, DeltaEntriesParseBackAndOthersAreNotDeltas) {
  redis::Command cmd = delta_command("s", JobDelta{"j", "r", 7, "te xt"});
  EXPECT_EQ(cmd, (redis::Command{"XADD", "s", "*", "delta", "j", "run", "r", "seq", "7", "text", "te xt"}));
  StreamRecord rec;
  for (std::size_t i = 3; i + 1 < cmd.size(); i += 2) rec.fields.emplace_back(cmd[i], cmd[i + 1]);
  auto d = parse_delta(std::move(rec));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->job_id, "j");
  EXPECT_EQ(d->run_id, "r");
  EXPECT_EQ(d->seq, 7);
  EXPECT_EQ(d->text, "te xt");
  StreamRecord reply;
  reply.fields.emplace_back("reply", "{}");
  EXPECT_FALSE(parse_delta(std::move(reply)).has_value());
  StreamRecord bad_seq;
  bad_seq.fields = {{"delta", "j"}, {"run", "r"}, {"seq", "x"}, {"text", ""}};
  EXPECT_FALSE(parse_delta(std::move(bad_seq)).has_value());
}

}  // namespace
}  // namespace ragd::queue
