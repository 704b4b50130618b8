#include "src/input/ansible_groups.h"

#include <algorithm>
#include <functional>
#include <regex>

#include "src/errors.h"
#include "src/input/host_range.h"
#include "src/input/node_values.h"

namespace treesync {
namespace {

UsageError error_at(const std::string& where, const std::string& what) { return UsageError(where + ": " + what); }

// "host:port" -> {host, port}; a range's colons are inside brackets, a bare
// IPv6 address has more than one colon outside them (and so no port).
std::pair<std::string, std::string> split_port(const std::string& pattern, const std::string& where) {
  std::vector<std::size_t> colons;
  int depth = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '[') ++depth;
    else if (pattern[i] == ']') --depth;
    else if (pattern[i] == ':' && depth == 0) colons.push_back(i);
  }
  if (colons.size() != 1) return {pattern, ""};
  const std::string port = pattern.substr(colons[0] + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
    throw error_at(where, "'" + printable(pattern) + "' is not a host (expected host, host:port or node[01:10])");
  return {pattern.substr(0, colons[0]), port};
}

int port_number(const std::string& value, const std::string& what, const std::string& where) {
  if (auto n = parse_port(value)) return *n;
  throw error_at(where, what + " '" + printable(value) + "' is not a port (1..65535)");
}

bool set_var(AnsibleVars& vars, const std::string& key, const std::string& value, const std::string& where) {
  auto refuse = [&](const std::string& form) {
    return error_at(where, key + " '" + printable(value) + "' is not " + form +
                               (value.find("{{") != std::string::npos ? " (treesync does not evaluate templates)" : ""));
  };
  if (key == "ansible_host" || key == "ansible_ssh_host") {
    if (!std::regex_match(value, host_pattern()) && !std::regex_match(value, name_pattern()))
      throw refuse("a host name or IP address");
    vars.host = value;
  } else if (key == "ansible_user" || key == "ansible_ssh_user") {
    if (!std::regex_match(value, user_pattern())) throw refuse("a user name");
    vars.user = value;
  } else if (key == "ansible_port" || key == "ansible_ssh_port") {
    vars.port = port_number(value, key, where);
  } else {
    return false;
  }
  return true;
}

void merge(AnsibleVars& into, const AnsibleVars& from) {
  if (from.host) into.host = from.host;
  if (from.user) into.user = from.user;
  if (from.port) into.port = from.port;
}

}  // namespace

AnsibleInventory::AnsibleInventory(std::string path) : path_(std::move(path)) {
  groups_["all"];
  groups_["ungrouped"].parents.insert("all");
}

void AnsibleInventory::define_group(const std::string& group, const std::string& where) {
  if (!std::regex_match(group, name_pattern()))
    throw error_at(where, "'" + printable(group) + "' is not a group name (letters, digits, . _ -)");
  Group& g = groups_[group];
  if (group != "all" && g.parents.empty()) g.parents.insert("all");
}

std::vector<std::string> AnsibleInventory::add_hosts(const std::string& group, const std::string& pattern,
                                                     const std::string& where) {
  define_group(group, where);
  const auto [hosts, port] = split_port(pattern, where);
  std::vector<std::string> names;
  try {
    names = expand_host_range(hosts);
  } catch (const UsageError& e) {
    throw error_at(where, e.what());
  }
  for (const auto& name : names) {
    if (!std::regex_match(name, host_pattern()) && !std::regex_match(name, name_pattern()))
      throw error_at(where, "'" + printable(name) + "' is not a host name or IP address");
    if (!host_groups_.count(name)) host_order_.push_back(name);
    auto& member_of = host_groups_[name];
    if (group != "all") member_of.insert(group);
    if (!port.empty()) host_vars_[name].port = port_number(port, "port", where);
  }
  return names;
}

void AnsibleInventory::add_child(const std::string& parent, const std::string& child, const std::string& where) {
  define_group(parent, where);
  define_group(child, where);
  if (child == "all") throw error_at(where, "'all' cannot be a child group");
  // As Ansible: a group may not end up inside itself.
  // Each group visited once: a diamond of nested groups must not cost 2^depth.
  std::set<std::string> seen;
  std::function<bool(const std::string&)> below_child = [&](const std::string& g) {
    if (g == child) return true;
    if (!seen.insert(g).second) return false;
    for (const auto& p : groups_.at(g).parents)
      if (below_child(p)) return true;
    return false;
  };
  if (below_child(parent))
    throw error_at(where, "making '" + child + "' a child of '" + parent + "' would put '" + child + "' inside itself");
  Group& c = groups_[child];
  c.parents.erase("all");
  c.parents.insert(parent);
}

bool AnsibleInventory::set_group_var(const std::string& group, const std::string& key, const std::string& value,
                                     const std::string& where) {
  define_group(group, where);
  return set_var(groups_[group].vars, key, value, where);
}

bool AnsibleInventory::set_host_var(const std::string& host, const std::string& key, const std::string& value,
                                    const std::string& where) {
  return set_var(host_vars_[host], key, value, where);
}

int AnsibleInventory::depth(const std::string& group, std::map<std::string, int>& known) const {
  if (auto it = known.find(group); it != known.end()) return it->second;
  int d = 0;
  for (const auto& p : groups_.at(group).parents) d = std::max(d, depth(p, known) + 1);
  return known[group] = d;
}

std::set<std::string> AnsibleInventory::groups_of(const std::string& host) const {
  std::set<std::string> out;
  std::function<void(const std::string&)> up = [&](const std::string& g) {
    if (!out.insert(g).second) return;
    for (const auto& p : groups_.at(g).parents) up(p);
  };
  const auto& direct = host_groups_.at(host);
  if (direct.empty()) up("ungrouped");
  for (const auto& g : direct) up(g);
  up("all");
  return out;
}

Inventory AnsibleInventory::nodes() const {
  Inventory inv;
  inv.path = path_;
  const bool has_docker_group = groups_.count("docker") > 0;
  std::map<std::string, int> depths;  // each group's, computed once
  for (const auto& name : host_order_) {
    std::vector<std::pair<int, std::string>> ordered;
    for (const auto& g : groups_of(name)) ordered.emplace_back(depth(g, depths), g);
    std::sort(ordered.begin(), ordered.end());
    AnsibleVars vars;
    Node node;
    for (const auto& [d, g] : ordered) {
      merge(vars, groups_.at(g).vars);
      if (g != "all") node.groups.push_back(g);
    }
    if (auto it = host_vars_.find(name); it != host_vars_.end()) merge(vars, it->second);
    node.name = name;
    node.index = static_cast<int>(inv.nodes.size());
    node.host = vars.host.value_or(name);
    node.user = vars.user.value_or("root");
    node.user_given = vars.user.has_value();
    node.port = vars.port.value_or(22);
    node.port_given = vars.port.has_value();
    const bool in_docker = std::count(node.groups.begin(), node.groups.end(), "docker") > 0;
    node.type = !has_docker_group || in_docker ? "docker" : node.groups.back();  // its most specific group
    inv.nodes.push_back(node);
  }
  if (inv.nodes.empty()) throw UsageError(path_ + ": the Ansible inventory names no hosts");
  return inv;
}

}  // namespace treesync
