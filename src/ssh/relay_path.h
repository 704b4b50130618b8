// Where treesync finds the relay it ships when no --relay is given.
#pragma once

#include <string>
#include <vector>

namespace treesync {

// The places to look, in order, for the treesync at `exe_path`: beside it
// first (a build tree, a lab copy, an unpacked tarball), then the private
// folder an installed treesync's relay lives in, relative to its prefix
// (/usr/bin/treesync -> /usr/lib/treesync/treesync-relay, as the Debian
// package installs it).
std::vector<std::string> relay_candidates(const std::string& exe_path);

// The first candidate for `exe_path` that is a file, else the first
// candidate (so the error names where a build puts it).
std::string find_relay(const std::string& exe_path);

// find_relay() for the running treesync.
std::string default_relay_path();

}  // namespace treesync
