// `ragctl keys create|list|revoke`: manage the API keys kept in Redis (auth::KeyStore)
// directly, as the admin API does, for operators with access to the deployment's Redis:
// this is how the first admin key is made without one in the config file.
#pragma once

#include "ragd/core/cli.hpp"

namespace ragctl {

// flags.positional: "keys", subcommand, ...; returns the process exit code.
int cmd_keys(const ragd::ParsedFlags& flags);

}  // namespace ragctl
