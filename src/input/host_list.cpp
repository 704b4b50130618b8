#include "src/input/host_list.h"

#include <map>
#include <regex>
#include <sstream>
#include <vector>

#include "src/errors.h"
#include "src/input/node_values.h"

namespace treesync {
namespace {

// One entry's shape: [user@]host[:port] or [user@][v6addr][:port]. Never
// a leading '-' (an option to ssh), brackets with a range in them (an
// Ansible host pattern, node[01:10]), nor brackets without a colon (an INI
// section, [db]).
const std::regex kEntryRe(
    "(?:([^@\\s]+)@)?(?:([A-Za-z0-9][A-Za-z0-9_.:-]*?)|\\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)\\])(?::([0-9]*))?");

struct Line {
  int number;
  std::string text;
};

// The lines that are not blank, each without its comment and surrounding blanks.
std::vector<Line> entries(const std::string& text) {
  std::vector<Line> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    out.push_back({n, line.substr(first, line.find_last_not_of(" \t\r") - first + 1)});
  }
  return out;
}

}  // namespace

bool looks_like_host_list(const std::string& text) {
  const auto lines = entries(text);
  if (lines.empty()) return false;
  for (const auto& l : lines)
    if (!std::regex_match(l.text, kEntryRe) || l.text.back() == ':') return false;
  return true;
}

Inventory parse_host_list(const std::string& text, const std::string& path) {
  Inventory inv;
  inv.path = path;
  std::map<std::string, int> seen;  // name -> line
  for (const auto& l : entries(text)) {
    auto bad = [&](const std::string& what) {
      return UsageError(path + ":" + std::to_string(l.number) + ": " + what);
    };
    std::smatch m;
    if (!std::regex_match(l.text, m, kEntryRe))
      throw bad("'" + printable(l.text) + "' is not a host (expected host, user@host or host:port)");
    Node node;
    node.user = "root";
    node.index = static_cast<int>(inv.nodes.size());
    const bool v6_in_brackets = m[3].matched;
    node.host = v6_in_brackets ? m[3].str() : m[2].str();
    std::string port = m[4].str();
    if (m[4].matched && port.empty()) throw bad("'" + printable(l.text) + "' has no port after ':'");
    // A bare IPv6 address: its last colon is not a port (as ssh reads it).
    if (!v6_in_brackets && node.host.find(':') != std::string::npos) {
      if (!port.empty()) node.host += ":" + port;
      port.clear();
      if (!std::regex_match(node.host, std::regex("[0-9A-Fa-f:.]+")))
        throw bad("'" + printable(l.text) + "' is not a host (expected host, user@host or host:port)");
    }
    if (m[1].matched) {
      if (!std::regex_match(m[1].str(), user_pattern())) throw bad("'" + printable(m[1].str()) + "' is not a user name");
      node.user = m[1];
      node.user_given = true;
    }
    if (!std::regex_match(node.host, host_pattern()) && !std::regex_match(node.host, name_pattern()))
      throw bad("'" + printable(node.host) + "' is not a host name or IP address");
    node.name = node.host;
    if (!port.empty()) {
      const auto n = parse_port(port);
      if (!n) throw bad("port " + port + " is outside 1..65535");
      node.port = *n;
      node.port_given = true;
      node.name = (v6_in_brackets ? "[" + node.host + "]" : node.host) + ":" + port;
    }
    if (auto [it, fresh] = seen.emplace(node.name, l.number); !fresh)
      throw bad("'" + node.name + "' is listed twice (first on line " + std::to_string(it->second) + ")");
    inv.nodes.push_back(node);
  }
  if (inv.nodes.empty()) throw UsageError(path + ": the list names no hosts");
  return inv;
}

}  // namespace treesync
