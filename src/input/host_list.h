// A plain list of hosts, one per line, as the seed script's users keep
// them: `host`, `user@host`, `host:port`, `user@host:port` (`[v6addr]:port`),
// blank lines and `#` comments. Each host is resolved through the ssh
// config like an inventory node's name.
#pragma once

#include <string>

#include "src/input/inventory.h"

namespace treesync {

// Whether every line that is not blank or a comment is one such entry (by
// its shape; parse_host_list then checks the values).
bool looks_like_host_list(const std::string& text);

// Nodes named as written without the user ("host", or "host:port" when a
// port is written), indexed by position; user root unless written (the ssh
// config's User wins over that default). Throws UsageError "FILE:LINE: ..."
// for a bad user, host or port, or an entry listed twice.
Inventory parse_host_list(const std::string& text, const std::string& path);

}  // namespace treesync
