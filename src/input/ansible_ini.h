// Ansible's INI inventory: `[group]` sections of host lines
// (`pattern [key=value ...]`, the pattern a host, host:port or a range such
// as node[01:10]), `[group:children]` and `[group:vars]`; hosts before any
// section are ungrouped; `#` and `;` start comment lines. As Ansible, a
// :children or :vars section must name a group the file defines.
#pragma once

#include <string>

#include "src/input/inventory.h"

namespace treesync {

// How surely a text is such an inventory: Certain when its first line that
// is not blank or a comment is a section header ("[web]"); Likely when some
// line is one, or every line is a host line ("web1", "node[01:10]
// ansible_user=ops"; YAML reads such a file as one string); else No.
enum class IniShape { No, Likely, Certain };
IniShape ini_shape(const std::string& text);

// Throws UsageError "FILE:LINE: ..." for a line it cannot read.
Inventory parse_ansible_ini(const std::string& text, const std::string& path);

}  // namespace treesync
