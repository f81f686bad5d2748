// `ragctl queue ...`: operators' view of the LLM job queue, straight from Redis.
#pragma once

#include "ragd/core/cli.hpp"

namespace ragctl {

// args: the positional arguments after "queue"; returns the process exit code.
int cmd_queue(const ragd::ParsedFlags& flags);

}  // namespace ragctl
