// Ansible's YAML inventory: top-level groups (usually just `all`), each a
// map of `hosts` (host pattern -> its variables), `vars` and `children`
// (group name -> the same structure), as Ansible's yaml inventory plugin
// reads it.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "src/input/inventory.h"

namespace treesync {

// Whether a YAML document is shaped as one: a map whose values are all
// maps or empty, none of treesync's own keys (nodes, defaults, zones).
bool looks_like_ansible_yaml(const YAML::Node& root);

// Throws UsageError "FILE:LINE:COLUMN: ..." for what it cannot read.
Inventory parse_ansible_yaml(const YAML::Node& root, const std::string& path);

}  // namespace treesync
