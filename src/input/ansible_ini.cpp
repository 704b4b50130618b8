#include "src/input/ansible_ini.h"

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "src/errors.h"
#include "src/input/ansible_groups.h"

namespace treesync {
namespace {

// "[name]", "[name:vars]", "[name:children]", maybe followed by a comment.
const std::regex kSectionRe("\\[([^\\]:\\s]*)(?::([^\\]\\s]*))?\\]\\s*(?:[#;].*)?");

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

bool is_comment(const std::string& line) { return line.empty() || line[0] == '#' || line[0] == ';'; }

// A host line's words, as Ansible splits it (shlex): blanks separate,
// quotes group and are dropped, a word starting with '#' ends the line.
std::vector<std::string> words(const std::string& line, const std::string& where) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
      else word += c;
    } else if (c == '"' || c == '\'') {
      quote = c, in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) out.push_back(word), word.clear(), in_word = false;
    } else if (c == '#' && !in_word) {
      break;
    } else {
      word += c, in_word = true;
    }
  }
  if (quote) throw UsageError(where + ": unterminated quote");
  if (in_word) out.push_back(word);
  return out;
}

// A variable's value as written: quotes around it dropped.
std::string unquote(std::string v) {
  if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0]) return v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

IniShape ini_shape(const std::string& text) {
  static const std::regex host_line(
      "[A-Za-z0-9][A-Za-z0-9_.:\\[\\]-]*(\\s+[A-Za-z_][A-Za-z0-9_]*=[!-~]*)*\\s*(#.*)?");
  std::istringstream in(text);
  std::string line;
  bool first = true, any = false, all_hosts = true;
  while (std::getline(in, line)) {
    line = trim(line);
    if (is_comment(line)) continue;
    any = true;
    if (std::regex_match(line, kSectionRe)) return first ? IniShape::Certain : IniShape::Likely;
    first = false;
    all_hosts = all_hosts && std::regex_match(line, host_line);
  }
  return any && all_hosts ? IniShape::Likely : IniShape::No;
}

Inventory parse_ansible_ini(const std::string& text, const std::string& path) {
  AnsibleInventory inv(path);
  enum class Kind { Hosts, Vars, Children } kind = Kind::Hosts;
  std::string group = "ungrouped";
  // As Ansible: [g] or [g:children] declares g; a [g:vars] section or a
  // child named in a :children section must be declared somewhere in the
  // file (a typo otherwise makes an empty group that silently selects
  // nothing). pending: such names not declared yet, and where they were.
  std::set<std::string> declared = {"all", "ungrouped"};
  std::map<std::string, std::string> pending;
  std::istringstream in(text);
  std::string raw;
  for (int n = 1; std::getline(in, raw); ++n) {
    const std::string where = path + ":" + std::to_string(n);
    const std::string line = trim(raw);
    if (is_comment(line)) continue;
    std::smatch m;
    if (line[0] == '[') {
      if (!std::regex_match(line, m, kSectionRe))
        throw UsageError(where + ": '" + printable(line) + "' is not a section header (expected [group], " +
                         "[group:vars] or [group:children])");
      group = m[1];
      const std::string suffix = m[2];
      if (suffix.empty() && !m[2].matched) kind = Kind::Hosts;
      else if (suffix == "vars") kind = Kind::Vars;
      else if (suffix == "children") kind = Kind::Children;
      else
        throw UsageError(where + ": unknown section kind '" + printable(suffix) + "' (expected [" + group +
                         "], [" + group + ":vars] or [" + group + ":children])");
      inv.define_group(group, where);
      if (kind != Kind::Vars) declared.insert(group), pending.erase(group);
      else if (!declared.count(group)) pending.emplace(group, where + ": [" + group + ":vars] is for group '" + group + "'");
      continue;
    }
    switch (kind) {
      case Kind::Hosts: {
        const auto w = words(line, where);
        const auto hosts = inv.add_hosts(group, w[0], where);
        for (std::size_t i = 1; i < w.size(); ++i) {
          const auto eq = w[i].find('=');
          if (eq == std::string::npos || eq == 0)
            throw UsageError(where + ": '" + printable(w[i]) + "' after the host is not key=value");
          for (const auto& h : hosts) inv.set_host_var(h, w[i].substr(0, eq), w[i].substr(eq + 1), where);
        }
        break;
      }
      case Kind::Vars: {
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0)
          throw UsageError(where + ": '" + printable(line) + "' in [" + group + ":vars] is not key=value");
        inv.set_group_var(group, trim(line.substr(0, eq)), unquote(trim(line.substr(eq + 1))), where);
        break;
      }
      case Kind::Children: {
        const std::string child = words(line, where)[0];
        if (!declared.count(child)) pending.emplace(child, where + ": [" + group + ":children] names group '" + child + "'");
        inv.add_child(group, child, where);
        break;
      }
    }
  }
  for (const auto& [g, what] : pending)
    throw UsageError(what + ", which the file never declares (a typo? declare it with [" + g + "])");
  return inv.nodes();
}

}  // namespace treesync
