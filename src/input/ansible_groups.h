// What an Ansible inventory (INI or YAML) says, in the terms both formats
// share: groups with their hosts, child groups and variables; and the nodes
// treesync makes of it. Of the variables only the connection's are read
// (ansible_host, ansible_user, ansible_port, and their older ansible_ssh_*
// spellings); the others are Ansible's business. Precedence is Ansible's:
// a host's own variables, then its groups' from the deepest (a group's
// depth below `all`), groups of one depth in name order, the last winning.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/input/inventory.h"

namespace treesync {

struct AnsibleVars {
  std::optional<std::string> host, user;
  std::optional<int> port;
};

// Every method that takes `where` ("FILE:LINE" or "FILE:LINE:COLUMN")
// throws UsageError starting with it.
class AnsibleInventory {
 public:
  explicit AnsibleInventory(std::string path);

  // Creates the group if new (`all` and `ungrouped` always exist).
  void define_group(const std::string& group, const std::string& where);
  // Adds the hosts a pattern names (ranges expanded, "host:port" setting
  // the port) to the group; returns their names, so the caller can give
  // them variables.
  std::vector<std::string> add_hosts(const std::string& group, const std::string& pattern, const std::string& where);
  void add_child(const std::string& parent, const std::string& child, const std::string& where);
  // One variable of a group or host; false when treesync ignores it.
  bool set_group_var(const std::string& group, const std::string& key, const std::string& value,
                     const std::string& where);
  bool set_host_var(const std::string& host, const std::string& key, const std::string& value,
                    const std::string& where);

  // One node per host, in the order hosts first appear. Its groups: every
  // group it is in, directly or through children, shallowest first; its
  // `type` (what the default --node-type docker picks) is docker unless the
  // inventory has a group named docker and the host is not in it (then its
  // deepest group). Throws when there is no host.
  Inventory nodes() const;

 private:
  struct Group {
    std::set<std::string> parents;
    AnsibleVars vars;
  };
  std::set<std::string> groups_of(const std::string& host) const;
  // Longest path up to `all`; `known` remembers each group's.
  int depth(const std::string& group, std::map<std::string, int>& known) const;

  std::string path_;
  std::map<std::string, Group> groups_;
  std::vector<std::string> host_order_;
  std::map<std::string, std::set<std::string>> host_groups_;  // direct membership
  std::map<std::string, AnsibleVars> host_vars_;
};

}  // namespace treesync
