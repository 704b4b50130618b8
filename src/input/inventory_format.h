// Which format an inventory file is in, told by its content, and the
// inventory read from it: treesync's YAML (docs/inventory.md), a plain list
// of hosts (host_list.h), Ansible's INI (ansible_ini.h) or YAML
// (ansible_yaml.h) inventory.
#pragma once

#include <string>

#include "src/input/inventory.h"

namespace treesync {

// Throws UsageError: a file it cannot read, one in none of the formats
// (one line naming them), or what the format's own reader finds.
Inventory load_inventory(const std::string& path);
Inventory read_inventory(const std::string& text, const std::string& path);

}  // namespace treesync
