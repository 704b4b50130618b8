// The command that installs the relay on a node, run here by the shells a
// node's login shell is likely to be: an upload that was cut, or that
// arrived changed, must never take the relay's name.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "src/ssh/remote_relay.h"
#include "tests/temp_dir.h"
#include "tests/slurp.h"

namespace fs = std::filesystem;

namespace {

void spit(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

struct Node {
  TempDir tmp{"install-test"};
  fs::path root = tmp.path;
  fs::path home = root / "home";
  fs::path state = home / ".cache/treesync";
  treesync::RelayBinary binary;

  Node() {
    fs::create_directories(home);
    std::mt19937 rng(7);
    std::string bytes(300000, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    spit(root / "relay", bytes);
    binary = treesync::RelayBinary::load((root / "relay").string());
    spit(root / "install.sh", treesync::relay_install_command(binary));
  }
  fs::path installed() const { return state / ("treesync-relay-" + binary.hash); }

  // Runs the command under `shell` with `input` on stdin, as sshd would
  // (HOME set); returns its exit status, its stderr in *err.
  int install(const std::string& shell, const std::string& input, std::string* err, const std::string& path = "") {
    spit(root / "input", input);
    std::string env = "HOME=" + home.string() + (path.empty() ? "" : " PATH=" + path);
    std::string cmd = "env " + env + " " + shell + " " + (root / "install.sh").string() + " < " +
                      (root / "input").string() + " 2> " + (root / "err").string();
    int status = std::system(cmd.c_str());
    *err = slurp(root / "err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool temp_left() const {
    for (const auto& e : fs::directory_iterator(state))
      if (e.path().filename().string().rfind(".upload-", 0) == 0) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("the install command installs a whole upload, and only a whole one") {
  const std::string shell = GENERATE(as<std::string>{}, "/bin/sh", "/bin/bash");
  INFO(shell);
  {
    Node node;
    std::string err;

    SECTION("a whole upload is installed, executable by its owner only") {
      REQUIRE(node.install(shell, node.binary.bytes, &err) == 0);
      REQUIRE(slurp(node.installed()) == node.binary.bytes);
      REQUIRE((fs::status(node.installed()).permissions() & fs::perms::all) == fs::perms::owner_all);
      REQUIRE(!node.temp_left());
    }
    SECTION("an upload cut after 1000 bytes is refused, and nothing is left") {
      REQUIRE(node.install(shell, node.binary.bytes.substr(0, 1000), &err) != 0);
      REQUIRE(err.find("the upload was cut short: 1000 of 300000 bytes arrived") != std::string::npos);
      REQUIRE(!fs::exists(node.installed()));
      REQUIRE(!node.temp_left());
    }
    SECTION("an upload of the right size with a changed byte is refused") {
      std::string bad = node.binary.bytes;
      bad[12345] ^= 1;
      REQUIRE(node.install(shell, bad, &err) != 0);
      REQUIRE(err.find("the uploaded relay's SHA-256 is ") != std::string::npos);
      REQUIRE(err.find(node.binary.sha256) != std::string::npos);
      REQUIRE(!fs::exists(node.installed()));
      REQUIRE(!node.temp_left());
    }
    SECTION("a node without sha256sum refuses to install, saying why") {
      fs::path bin = node.root / "bin";
      fs::create_directories(bin);
      for (const char* tool : {"mkdir", "cat", "wc", "chmod", "mv", "rm"})
        for (const char* dir : {"/usr/bin/", "/bin/"})
          if (fs::exists(std::string(dir) + tool) && !fs::exists(bin / tool)) fs::create_symlink(std::string(dir) + tool, bin / tool);
      REQUIRE(node.install(shell, node.binary.bytes, &err, bin.string()) != 0);
      REQUIRE(err.find("sha256sum not found") != std::string::npos);
      REQUIRE(!fs::exists(node.installed()));
    }
  }
}

TEST_CASE("the install command holds nothing but fixed text and our hex") {
  Node node;
  const std::string cmd = treesync::relay_install_command(node.binary);
  REQUIRE(node.binary.sha256.size() == 64);
  REQUIRE(cmd.find(node.binary.sha256) != std::string::npos);
  REQUIRE(cmd.find(std::to_string(node.binary.bytes.size())) != std::string::npos);
  REQUIRE(cmd.find(node.root.string()) == std::string::npos);  // not the local path of the binary
}
