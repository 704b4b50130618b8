// Ansible's INI inventory: `[group]` sections of host lines
// (`pattern [key=value ...]`, the pattern a host, host:port or a range such
// as node[01:10]), `[group:children]` and `[group:vars]`; hosts before any
// section are ungrouped; `#` and `;` start comment lines. As Ansible, a
// :children or :vars section must name a group the file defines.
#pragma once

#include <string>

#include "src/input/inventory.h"

namespace treesync {

// Whether the first line that is not blank or a comment is a section
// header ("[web]").
bool starts_with_ini_section(const std::string& text);

// Throws UsageError "FILE:LINE: ..." for a line it cannot read.
Inventory parse_ansible_ini(const std::string& text, const std::string& path);

}  // namespace treesync
