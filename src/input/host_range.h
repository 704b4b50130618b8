// Ansible's host ranges: "node[01:10]" is node01 ... node10, "db-[a:c]" is
// db-a, db-b, db-c, "n[0:8:2]" steps by 2; several ranges in one pattern
// multiply. As Ansible's expand_hostname_range reads them (a leading zero
// pads to the width of the bounds).
#pragma once

#include <string>
#include <vector>

namespace treesync {

// The hosts `pattern` names, in order (just the pattern when it has no
// range). Throws UsageError (the text only: the caller adds file and line)
// for a malformed, reversed or mixed range, or more than 10000 hosts.
std::vector<std::string> expand_host_range(const std::string& pattern);

}  // namespace treesync
