#include "src/input/ansible_yaml.h"

#include "src/errors.h"
#include "src/input/ansible_groups.h"

namespace treesync {
namespace {

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), inv_(path) {}

  std::string where(const YAML::Node& at) const {
    const YAML::Mark m = at.Mark();
    return path_ + (m.line >= 0 ? ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) : "");
  }

  std::string scalar(const YAML::Node& v, const std::string& what) const {
    if (!v.IsScalar()) throw UsageError(where(v) + ": " + what + " must be a single value");
    return v.Scalar();
  }

  // A group's body: null, or a map of hosts, vars and children.
  void group(const std::string& name, const YAML::Node& body, const YAML::Node& at) {
    inv_.define_group(name, where(at));
    if (body.IsNull()) return;
    if (!body.IsMap())
      throw UsageError(where(body) + ": group '" + name + "' must be a map of hosts, vars and children");
    for (const auto& kv : body) {
      const std::string key = scalar(kv.first, "a key");
      const YAML::Node& v = kv.second;
      if (key != "hosts" && key != "vars" && key != "children")
        throw UsageError(where(kv.first) + ": unknown key '" + printable(key) + "' in group '" + name +
                         "' (allowed: hosts, vars, children)");
      if (v.IsNull()) continue;
      if (!v.IsMap()) throw UsageError(where(v) + ": '" + key + "' of group '" + name + "' must be a map");
      for (const auto& item : v) {
        const std::string item_name = scalar(item.first, "a name");
        if (key == "hosts") {
          for (const auto& host : inv_.add_hosts(name, item_name, where(item.first))) vars(item.second, host, name);
        } else if (key == "vars") {
          inv_.set_group_var(name, item_name, value(item.second), where(item.second));
        } else {
          inv_.add_child(name, item_name, where(item.first));
          group(item_name, item.second, item.first);
        }
      }
    }
  }

  AnsibleInventory& inventory() { return inv_; }

 private:
  // A variable's value; one that is a list or map is shown as such, which
  // no connection variable accepts and the others never look at.
  static std::string value(const YAML::Node& v) {
    if (v.IsScalar()) return v.Scalar();
    return v.IsSequence() ? "(a list)" : v.IsMap() ? "(a map)" : "";
  }

  void vars(const YAML::Node& body, const std::string& host, const std::string& group) {
    if (body.IsNull()) return;
    if (!body.IsMap())
      throw UsageError(where(body) + ": host '" + host + "' in group '" + group + "' must have a map of variables");
    for (const auto& kv : body) {
      const std::string key = scalar(kv.first, "a variable name");
      inv_.set_host_var(host, key, value(kv.second), where(kv.second));
    }
  }

  std::string path_;
  AnsibleInventory inv_;
};

}  // namespace

bool looks_like_ansible_yaml(const YAML::Node& root) {
  if (!root.IsMap() || root.size() == 0) return false;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return false;
    const std::string& key = kv.first.Scalar();
    if (key == "nodes" || key == "defaults" || key == "zones") return false;
    if (!kv.second.IsMap() && !kv.second.IsNull()) return false;
  }
  return true;
}

Inventory parse_ansible_yaml(const YAML::Node& root, const std::string& path) {
  Reader r(path);
  for (const auto& kv : root) r.group(r.scalar(kv.first, "a group name"), kv.second, kv.first);
  return r.inventory().nodes();
}

}  // namespace treesync
