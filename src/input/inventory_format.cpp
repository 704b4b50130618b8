#include "src/input/inventory_format.h"

#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "src/errors.h"
#include "src/input/ansible_ini.h"
#include "src/input/ansible_yaml.h"
#include "src/input/host_list.h"

namespace treesync {
namespace {

// Some line is a YAML key or list item ("nodes:", "  - name: a"): YAML
// that does not parse gets the YAML reader's error, which says where;
// other text (a binary, prose) is in no format at all.
bool has_yaml_lines(const std::string& text) {
  static const std::regex yaml_line("\\s*(- .*|-|[A-Za-z0-9_.\"'-]+\\s*:(\\s.*)?)");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (std::regex_match(line, yaml_line)) return true;
  return false;
}

}  // namespace

Inventory load_inventory(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw UsageError("cannot read inventory " + path +
                     " (give one with --inventory FILE or TREESYNC_INVENTORY; see docs/inventory.md)");
  std::stringstream text;
  text << in.rdbuf();
  return read_inventory(text.str(), path);
}

// No inventory line is this long; the readers' regular expressions recurse
// once per character, so a longer line could overflow the stack.
constexpr std::size_t kMaxLine = 4096;

Inventory read_inventory(const std::string& text, const std::string& path) {
  std::size_t number = 1, start = 0;
  for (std::size_t end; start <= text.size(); start = end + 1, ++number) {
    end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end - start > kMaxLine)
      throw UsageError(path + ":" + std::to_string(number) + ": a line of " + std::to_string(end - start) +
                       " characters; no inventory line is longer than " + std::to_string(kMaxLine));
  }
  if (looks_like_host_list(text)) return parse_host_list(text, path);
  const IniShape ini = ini_shape(text);
  if (ini == IniShape::Certain) return parse_ansible_ini(text, path);
  YAML::Node root;
  bool yaml = true;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException&) {
    yaml = false;
  }
  if (yaml && looks_like_ansible_yaml(root)) return parse_ansible_yaml(root, path);
  // treesync's own format, also for YAML that does not parse (its reader says where).
  if (yaml ? root.IsMap() : has_yaml_lines(text)) return parse_inventory(text, path);
  if (ini == IniShape::Likely) return parse_ansible_ini(text, path);
  throw UsageError(path + ": not an inventory treesync reads: expected treesync's YAML (nodes:), an Ansible " +
                   "inventory (INI or YAML) or a list of hosts, one per line (docs/inventory.md)");
}

}  // namespace treesync
