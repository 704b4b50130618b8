#include "src/ssh/relay_set.h"

#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include "src/errors.h"
#include "src/ssh/relay_path.h"
#include "src/wire/protocol.h"

namespace treesync {
namespace {

std::string sha256_hex_of(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL could not compute a SHA-256");
  return wire::to_hex(md, len);
}

std::string machines_of(const RelaySet& set) {
  std::string out;
  for (const auto& [machine, binary] : set.by_machine) out += (out.empty() ? "" : ", ") + machine;
  return out;
}

}  // namespace

RelayBinary RelayBinary::load(const std::string& path) {
  RelayBinary b;
  b.path = path;
  std::ifstream in(b.path, std::ios::binary);
  if (!in) throw UsageError("cannot read the relay binary " + b.path + " (build it, or pass --relay FILE)");
  std::stringstream s;
  s << in.rdbuf();
  b.bytes = s.str();
  b.hash = wire::file_hash_hex(b.path);
  b.sha256 = sha256_hex_of(b.bytes);
  b.machine = elf_machine(b.bytes);
  return b;
}

std::string elf_machine(const std::string& bytes) {
  // e_ident: magic, class (2: 64-bit), data (1: little-endian); e_machine at 18.
  if (bytes.size() < 20 || bytes.compare(0, 4, "\x7f" "ELF") != 0 || bytes[4] != 2 || bytes[5] != 1) return "";
  const unsigned machine = static_cast<unsigned char>(bytes[18]) | static_cast<unsigned char>(bytes[19]) << 8;
  switch (machine) {
    case 62: return "x86_64";    // EM_X86_64
    case 183: return "aarch64";  // EM_AARCH64
    default: return "";
  }
}

RelaySet RelaySet::load(const std::vector<std::string>& explicit_paths) {
  RelaySet set;
  for (const std::string& path : explicit_paths) {
    RelayBinary b = RelayBinary::load(path);
    if (b.machine.empty())
      throw UsageError("--relay " + path + " is not a treesync-relay for x86_64 or aarch64 Linux (by its ELF header)");
    if (set.by_machine.count(b.machine))
      throw UsageError("--relay " + path + " and --relay " + set.by_machine[b.machine].path + " are both for " +
                       b.machine + ": give one relay per architecture");
    set.by_machine.emplace(b.machine, std::move(b));
  }
  const std::vector<std::string> defaults = default_relay_paths();
  for (const std::string& path : defaults) {
    if (!std::ifstream(path)) continue;
    RelayBinary b = RelayBinary::load(path);
    if (!b.machine.empty() && !set.by_machine.count(b.machine)) set.by_machine.emplace(b.machine, std::move(b));
  }
  if (set.by_machine.empty()) {
    RelayBinary b = RelayBinary::load(defaults.front());  // missing: the error names where a build puts it
    throw UsageError(b.path + " is not a treesync-relay for x86_64 or aarch64 Linux (by its ELF header)");
  }
  return set;
}

const RelayBinary& RelaySet::for_machine(const std::string& machine) const {
  auto it = by_machine.find(machine);
  if (it != by_machine.end()) return it->second;
  // The node's own words: shown escaped, and short.
  const std::string name = machine.empty() ? std::string("of an unknown kind") : printable(machine.substr(0, 40));
  throw NodeError("install relay", "this node is " + name + " (uname -m) and treesync has no relay for it, only for " +
                                       machines_of(*this) + "; pass --relay FILE with a static treesync-relay built for " +
                                       (machine.empty() ? "it" : name));
}

}  // namespace treesync
