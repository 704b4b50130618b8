#include "src/input/inventory.h"

#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "src/errors.h"
#include "src/input/home.h"
#include "src/input/node_values.h"
#include "src/input/rate.h"

namespace treesync {
namespace {

const std::regex& kNameRe = name_pattern();
const std::regex& kHostRe = host_pattern();
const std::regex& kUserRe = user_pattern();
const std::regex kRuntimeRe("docker|containerd|podman");
const std::regex kSocketRe("/[A-Za-z0-9._/-]{1,200}");
// YAML 1.1's booleans, as an operator writes them.
const std::regex kTrueRe("true|True|TRUE|yes|Yes|YES|on|On|ON");
const std::regex kBoolRe("(true|True|TRUE|yes|Yes|YES|on|On|ON|false|False|FALSE|no|No|NO|off|Off|OFF)");

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  UsageError error(const YAML::Node& at, const std::string& what) const {
    const YAML::Mark m = at.Mark();
    std::ostringstream s;
    s << path_;
    if (m.line >= 0) s << ":" << m.line + 1 << ":" << m.column + 1;
    s << ": " << what;
    return UsageError(s.str());
  }

  std::string text(const YAML::Node& v, const std::string& field, const std::regex& re, const char* form) const {
    if (!v.IsScalar()) throw error(v, "'" + field + "' must be a single value");
    std::string s = v.Scalar();
    if (!std::regex_match(s, re)) throw error(v, "'" + field + "' value '" + printable(s) + "' is not " + form);
    return s;
  }

  int number(const YAML::Node& v, const std::string& field, int lo, int hi) const {
    static const std::regex digits("[0-9]{1,9}");
    if (!v.IsScalar() || !std::regex_match(v.Scalar(), digits))
      throw error(v, "'" + field + "' must be a whole number");
    int n = std::stoi(v.Scalar());
    if (n < lo || n > hi)
      throw error(v, "'" + field + "' is " + std::to_string(n) + ", outside " + std::to_string(lo) + ".." +
                         std::to_string(hi));
    return n;
  }

  std::uint64_t rate(const YAML::Node& v, const std::string& field) const {
    if (!v.IsScalar()) throw error(v, "'" + field + "' must be a single value, e.g. 100M");
    if (auto bps = parse_rate(v.Scalar())) return *bps;
    throw error(v, "'" + field + "' value '" + printable(v.Scalar()) + "' is not a rate: use e.g. " + kRateExamples);
  }

  // `zones: {NAME: {limit: RATE}}`: the cap each node of a zone gets (its
  // own bucket; the zone's total is not capped).
  std::map<std::string, std::uint64_t> zone_limits(const YAML::Node& zones) const {
    if (!zones.IsMap()) throw error(zones, "'zones' must be a map of zone names, e.g. {rack2: {limit: 100M}}");
    std::map<std::string, std::uint64_t> out;
    for (const auto& kv : zones) {
      const std::string zone = text(kv.first, "zones", kNameRe, "a zone name (letters, digits, . _ -)");
      if (!kv.second.IsMap()) throw error(kv.second, "zone '" + zone + "' must be a map, e.g. {limit: 100M}");
      for (const auto& f : kv.second) {
        if (f.first.Scalar() != "limit")
          throw error(f.first, "unknown field '" + printable(f.first.Scalar()) + "' in zone '" + zone + "' (allowed: limit)");
        out[zone] = rate(f.second, "limit");
      }
    }
    return out;
  }

  std::string path(const YAML::Node& v, const std::string& field) const {
    if (!v.IsScalar() || v.Scalar().empty()) throw error(v, "'" + field + "' must be a file path");
    return expand_home(v.Scalar());
  }

  // Reads the fields a node and the defaults block share into `node`.
  void node_fields(const YAML::Node& map, Node& node, bool defaults) const {
    static const std::set<std::string> common = {"port",    "user",    "identity",          "type",
                                                 "groups",  "zone",    "runtime",           "namespace",
                                                 "containerd_socket", "sudo", "uplink", "downlink"};
    static const std::set<std::string> own = {"name", "host", "index", "limit"};
    static const std::string allowed =
        "port, user, identity, type, groups, zone, runtime, namespace, containerd_socket, sudo, uplink, downlink";
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (!common.count(key) && (defaults || !own.count(key))) {
        throw error(kv.first, "unknown field '" + printable(key) + "'" +
                                  (defaults ? " in defaults (allowed: " + allowed + ")"
                                            : " (allowed: name, host, index, limit, " + allowed + ")"));
      }
      if (key == "name") node.name = text(v, key, kNameRe, "a node name (letters, digits, . _ -)");
      else if (key == "host") node.host = text(v, key, kHostRe, "a host name or IP address");
      else if (key == "port") node.port = number(v, key, 1, 65535), node.port_given = true;
      else if (key == "user") node.user = text(v, key, kUserRe, "a user name"), node.user_given = true;
      else if (key == "identity") node.identity = path(v, key);
      else if (key == "type") node.type = text(v, key, kNameRe, "a type name (letters, digits, . _ -)");
      else if (key == "zone") node.zone = text(v, key, kNameRe, "a zone name (letters, digits, . _ -)");
      else if (key == "index") node.index = number(v, key, 0, 999999);
      else if (key == "limit") node.limit = rate(v, key);
      else if (key == "uplink") node.uplink = rate(v, key);
      else if (key == "downlink") node.downlink = rate(v, key);
      else if (key == "runtime") node.runtime = text(v, key, kRuntimeRe, "docker, containerd or podman");
      else if (key == "namespace") node.ns = text(v, key, kNameRe, "a containerd namespace (letters, digits, . _ -)");
      else if (key == "sudo")
        node.sudo = std::regex_match(text(v, key, kBoolRe, "true or false"), kTrueRe) ? "yes" : "no";
      else if (key == "containerd_socket") node.containerd_socket = text(v, key, kSocketRe, "an absolute socket path");
      else if (key == "groups") {
        if (!v.IsSequence()) throw error(v, "'groups' must be a list, e.g. [gpu, rack1]");
        node.groups.clear();
        for (const auto& g : v) node.groups.push_back(text(g, "groups", kNameRe, "a group name"));
      }
    }
  }

 private:
  std::string path_;
};

}  // namespace

std::string inventory_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("TREESYNC_INVENTORY"); env && *env) return env;
  return "treesync.yaml";
}

Inventory parse_inventory(const std::string& yaml_text, const std::string& path) {
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw UsageError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": malformed YAML: " + e.msg);
  }
  if (!root.IsMap()) throw r.error(root, "expected a map with 'nodes:' (and optionally 'defaults:')");
  Node defaults;
  defaults.user = "root";
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    if (key != "defaults" && key != "nodes" && key != "zones")
      throw r.error(kv.first, "unknown top-level field '" + printable(key) + "' (allowed: defaults, nodes, zones)");
  }
  if (root["defaults"]) {
    if (!root["defaults"].IsMap()) throw r.error(root["defaults"], "'defaults' must be a map");
    r.node_fields(root["defaults"], defaults, true);
  }
  const YAML::Node nodes = root["nodes"];
  if (!nodes || nodes.IsNull() || (nodes.IsSequence() && nodes.size() == 0))
    throw r.error(nodes ? nodes : root, "the inventory lists no nodes (add a 'nodes:' list)");
  if (!nodes.IsSequence()) throw r.error(nodes, "'nodes' must be a list of nodes");

  Inventory inv;
  inv.path = path;
  std::map<std::string, int> names;
  std::map<int, std::string> indexes;
  int position = 0;
  for (const auto& entry : nodes) {
    if (!entry.IsMap()) throw r.error(entry, "each node must be a map with at least a name");
    Node node = defaults;
    node.index = position++;
    r.node_fields(entry, node, false);
    if (node.name.empty()) throw r.error(entry, "node has no 'name'");
    if (node.host.empty()) node.host = node.name;  // as `ssh NAME`: the ssh config or DNS resolves it
    if (!names.emplace(node.name, node.index).second)
      throw r.error(entry, "duplicate node name '" + node.name + "'");
    if (auto [it, fresh] = indexes.emplace(node.index, node.name); !fresh)
      throw r.error(entry, "node '" + node.name + "' has index " + std::to_string(node.index) +
                               ", already used by '" + it->second + "'");
    inv.nodes.push_back(node);
  }
  if (root["zones"]) {
    for (const auto& [zone, limit] : r.zone_limits(root["zones"])) {
      bool used = false;
      for (auto& node : inv.nodes) {
        if (node.zone != zone) continue;
        used = true;
        if (!node.limit) node.limit = limit;  // a node's own limit wins over its zone's
      }
      if (!used) throw r.error(root["zones"], "zone '" + zone + "' has no nodes (a typo in a node's 'zone'?)");
    }
  }
  return inv;
}

}  // namespace treesync
