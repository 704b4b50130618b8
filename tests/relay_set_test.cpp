// Which relay a node gets (src/ssh/relay_set.h): each relay's architecture
// from its ELF header, the node's from `uname -m`, and one line when the
// two do not meet.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "src/errors.h"
#include "src/ssh/relay_set.h"
#include "tests/slurp.h"
#include "tests/temp_dir.h"

using namespace treesync;
namespace fs = std::filesystem;

namespace {

// The first 20 bytes of a 64-bit little-endian ELF file for `machine`, and some body.
std::string elf(unsigned machine) {
  std::string h = std::string("\x7f" "ELF", 4) + '\x02' + '\x01' + std::string(12, '\0');
  h += static_cast<char>(machine & 0xff);
  h += static_cast<char>(machine >> 8);
  return h + std::string(100, 'x');
}

std::string write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

}  // namespace

TEST_CASE("a relay's machine is read from its ELF header") {
  CHECK(elf_machine(elf(62)) == "x86_64");
  CHECK(elf_machine(elf(183)) == "aarch64");
  CHECK(elf_machine(elf(243)) == "");  // riscv: no relay is built for it
  CHECK(elf_machine("#!/bin/sh\necho relay\n") == "");
  CHECK(elf_machine(elf(62).substr(0, 19)) == "");
  std::string big_endian = elf(62);
  big_endian[5] = 2;
  CHECK(elf_machine(big_endian) == "");
}

TEST_CASE("the build's two relays are for x86_64 and aarch64") {
  // The cross build (cmake/arm64_relay.cmake) made what its name says.
  CHECK(elf_machine(slurp(fs::path(TREESYNC_BINARY_DIR) / "treesync-relay")) == "x86_64");
  if (TREESYNC_ARM64_RELAY)  // configured with -DTREESYNC_ARM64_RELAY=OFF: there is none
    CHECK(elf_machine(slurp(fs::path(TREESYNC_BINARY_DIR) / "treesync-relay-arm64")) == "aarch64");
}

TEST_CASE("--relay files serve the nodes of their own architecture") {
  TempDir tmp("relay-set");
  const std::string amd = write(tmp.path / "a", elf(62)), arm = write(tmp.path / "b", elf(183));
  RelaySet set = RelaySet::load({amd, arm});
  CHECK(set.for_machine("x86_64").path == amd);
  CHECK(set.for_machine("aarch64").path == arm);
  CHECK(set.for_machine("aarch64").hash != set.for_machine("x86_64").hash);

  SECTION("two for one architecture, or one that is no relay: refused before connecting") {
    CHECK_THROWS_AS(RelaySet::load({amd, write(tmp.path / "c", elf(62) + "other")}), UsageError);
    CHECK_THROWS_AS(RelaySet::load({write(tmp.path / "d", "#!/bin/sh\n")}), UsageError);
  }
}

TEST_CASE("a node without a relay of its architecture gets one line naming it") {
  RelaySet set;
  set.by_machine["x86_64"].path = "/usr/lib/treesync/treesync-relay";
  try {
    set.for_machine("riscv64");
    FAIL("no error");
  } catch (const NodeError& e) {
    CHECK(e.step == "install relay");
    CHECK(std::string(e.what()) ==
          "this node is riscv64 (uname -m) and treesync has no relay for it, only for x86_64; "
          "pass --relay FILE with a static treesync-relay built for riscv64");
  }
  // What the node said is its own text: escaped, never a second line.
  CHECK_THROWS_WITH(set.for_machine("evil\nline"), Catch::Contains("evil\\nline"));
}
