// The inventory: which nodes exist and how to reach them (docs/inventory.md).
// Every field is checked when it is read, with file and line, so a typo
// stops the run before any connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace treesync {

struct Node {
  std::string name;
  std::string host;
  int port = 22;
  std::string user;
  std::string identity;             // empty: ssh-agent and the default keys
  std::string type = "docker";      // the seed's --node-type
  std::vector<std::string> groups;  // further names --node-type accepts
  std::string zone;                 // nodes of one zone share a subtree
  int index = 0;                    // what --nodes refers to; default: position
  std::string runtime;              // docker, containerd, podman; empty: detect on the node
  std::string containerd_socket;    // empty: /run/containerd/containerd.sock
  std::string ns;                   // containerd namespace; empty: k8s.io
  std::string sudo;                 // runtime through `sudo -n`: "yes", "no"; empty: detect on the node
  std::uint64_t limit = 0;          // its upload cap when it relays, bits/s; 0: its zone's, else --limit-rate
  // Its link's rates, bits/s, for the cost model only (nothing enforces
  // them); 0: unknown.
  std::uint64_t uplink = 0, downlink = 0;
  // Written in the inventory (the node or defaults), so they win over the
  // ssh config, which wins over the built-in port 22 and user root.
  bool port_given = false, user_given = false;
};

struct Inventory {
  std::string path;
  std::vector<Node> nodes;
};

// Where the inventory is: --inventory, else $TREESYNC_INVENTORY, else ./treesync.yaml.
std::string inventory_path(const std::string& flag);

// treesync's own YAML format (nodes:, defaults:, zones:); load_inventory
// (inventory_format.h) reads the other formats too. Throws UsageError with
// "FILE:LINE:COLUMN: ..." for anything malformed.
Inventory parse_inventory(const std::string& yaml_text, const std::string& path);

}  // namespace treesync
