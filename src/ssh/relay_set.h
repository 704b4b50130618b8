// The relays treesync ships: one static treesync-relay per architecture,
// and which one a node gets, by what the node's `uname -m` says.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace treesync {

struct RelayBinary {
  std::string path;
  std::string hash;    // XXH3-128 hex: the name it is cached under on nodes
  std::string sha256;  // hex: what the node checks an upload against before installing it
  std::string bytes;
  std::string machine;  // as `uname -m` names what runs it (elf_machine); "" if not a relay we know

  static RelayBinary load(const std::string& path);
};

// The machine a Linux executable is built for, as `uname -m` says it on a
// host that runs it: "x86_64", "aarch64"; "" for anything else. From the ELF
// header, so a relay is matched to nodes by what it is, not by its name.
std::string elf_machine(const std::string& bytes);

struct RelaySet {
  std::map<std::string, RelayBinary> by_machine;

  // Each --relay FILE serves nodes of its own architecture; the relays
  // found where default_relay_paths() looks serve the others.
  static RelaySet load(const std::vector<std::string>& explicit_paths);

  // The relay for a node whose `uname -m` is `machine`; throws a NodeError
  // naming the machine and the fix when there is none.
  const RelayBinary& for_machine(const std::string& machine) const;
};

}  // namespace treesync
