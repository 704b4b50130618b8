// What a node's name, host and user may be, in every inventory format
// (treesync's YAML, a plain host list, Ansible INI and YAML): one set of
// checks, so no format lets through what another refuses.
#pragma once

#include <optional>
#include <regex>
#include <string>

namespace treesync {

// Node, type, group and zone names: letters, digits, . _ -
const std::regex& name_pattern();
// Host names and IPv4/IPv6 literals; nothing a shell or ssh option could misread.
const std::regex& host_pattern();
// Login names as useradd takes them.
const std::regex& user_pattern();
// A TCP port written as text ("22"): 1..65535, digits only; else nullopt.
std::optional<int> parse_port(const std::string& text);

}  // namespace treesync
