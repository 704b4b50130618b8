// A node's address as relays take it: numeric, since the static relay does
// no name lookups. Resolved on the source, where ssh_config's HostName is.
#pragma once

#include <string>

namespace treesync {

// Throws NodeError (step `step`) naming the host if it does not resolve.
std::string numeric_address(const std::string& host, const std::string& step);

}  // namespace treesync
