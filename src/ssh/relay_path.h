// Where treesync finds the relays it ships when no --relay is given.
#pragma once

#include <string>
#include <vector>

namespace treesync {

// The relays' file names: this build's own (amd64) and the cross-built
// arm64 one (cmake/arm64_relay.cmake). Which node gets which is decided by
// each file's ELF header (src/ssh/relay_set.h), not by these names.
extern const std::vector<std::string> kRelayNames;

// The places to look, in order, for the relay `name` of the treesync at
// `exe_path`: beside it first (a build tree, a lab copy, an unpacked
// tarball), then the private folder an installed treesync's relays live
// in, relative to its prefix (/usr/bin/treesync ->
// /usr/lib/treesync/treesync-relay, as the Debian package installs it).
std::vector<std::string> relay_candidates(const std::string& exe_path, const std::string& name = "treesync-relay");

// The first candidate for `exe_path` that is a file, else the first
// candidate (so the error names where a build puts it).
std::string find_relay(const std::string& exe_path, const std::string& name = "treesync-relay");

// find_relay() of every name in kRelayNames, for the running treesync.
std::vector<std::string> default_relay_paths();

}  // namespace treesync
