// The commands that install the relay on a node, run here by the shells a
// node's login shell is likely to be: an upload that was cut, or that
// arrived changed, must never take the relay's name; nor must a fetch from
// a lending node (relay/relay_share.h, the real one on 127.0.0.1) that was
// refused, cut, or answered by a liar.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <vector>
#include <sstream>

#include "relay/relay_share.h"
#include "src/ssh/remote_relay.h"
#include "src/wire/edge_auth.h"
#include "src/wire/net.h"
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
  int install(const std::string& shell, const std::string& input, std::string* err, const std::string& path = "",
              const std::string& script = "install.sh") {
    spit(root / "input", input);
    std::string env = "HOME=" + home.string() + (path.empty() ? "" : " PATH=" + path);
    std::string cmd = "env " + env + " " + shell + " " + (root / script).string() + " < " +
                      (root / "input").string() + " 2> " + (root / "err").string();
    int status = std::system(cmd.c_str());
    *err = slurp(root / "err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The fetch from `donor`, with the token for `nonce`.
  int fetch(const std::string& shell, const treesync::Donor& donor, const std::string& nonce, std::string* err) {
    spit(root / "fetch.sh", treesync::relay_fetch_command(binary, donor, nonce));
    return install(shell, "", err, "", "fetch.sh");
  }

  bool temp_left() const {
    if (!fs::exists(state)) return false;
    for (const auto& e : fs::directory_iterator(state))
      if (e.path().filename().string().rfind(".upload-", 0) == 0 || e.path().filename().string().rfind(".fetch-", 0) == 0)
        return true;
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

namespace {

// A relay lending `bytes`, as a node's would, and the refusals it reported.
struct Lender {
  std::string secret = wire::new_edge_key();
  std::mutex mu;
  std::vector<std::string> refusals;
  relay::RelayShare share;
  Lender(const std::string& bytes)
      : share("127.0.0.1", secret, bytes, [this](const std::string&, const std::string& why) {
          std::lock_guard<std::mutex> lock(mu);
          refusals.push_back(why);
        }) {}
  treesync::Donor donor(const std::string& secret_shown) const {
    return {"node1", "127.0.0.1", share.port(), secret_shown};
  }
  treesync::Donor donor() const { return donor(secret); }
  bool refused(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& r : refusals)
      if (r.find(what) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("a relay fetched from a lending node is installed only if it is whole and the source's") {
  const std::string shell = GENERATE(as<std::string>{}, "/bin/sh", "/bin/bash");
  INFO(shell);
  Node node;
  std::string err;

  SECTION("with a token the source minted, the node gets the lender's binary, once per token") {
    Lender lender(node.binary.bytes);
    const std::string nonce = wire::new_nonce();
    REQUIRE(node.fetch(shell, lender.donor(), nonce, &err) == 0);
    REQUIRE(slurp(node.installed()) == node.binary.bytes);
    REQUIRE((fs::status(node.installed()).permissions() & fs::perms::all) == fs::perms::owner_all);
    REQUIRE(!node.temp_left());
    // A replayed token (someone on the network saw it) gets nothing.
    fs::remove(node.installed());
    REQUIRE(node.fetch(shell, lender.donor(), nonce, &err) != 0);
    REQUIRE(err.find("the fetch was cut short: 0 of 300000 bytes arrived") != std::string::npos);
    REQUIRE(!fs::exists(node.installed()));
    REQUIRE(!node.temp_left());
    REQUIRE(lender.refused("relay share: showed a token already used"));
  }
  SECTION("a token from another secret gets nothing") {
    Lender lender(node.binary.bytes);
    REQUIRE(node.fetch(shell, lender.donor(wire::new_edge_key()), wire::new_nonce(), &err) != 0);
    REQUIRE(!fs::exists(node.installed()));
    REQUIRE(!node.temp_left());
    REQUIRE(lender.refused("relay share: showed a token the source did not mint"));
  }
  SECTION("a lender that lies (other bytes, the same size) is caught by the SHA-256") {
    std::string lie = node.binary.bytes;
    lie[4242] ^= 1;
    Lender lender(lie);
    REQUIRE(node.fetch(shell, lender.donor(), wire::new_nonce(), &err) != 0);
    REQUIRE(err.find("the fetched relay's SHA-256 is ") != std::string::npos);
    REQUIRE(!fs::exists(node.installed()));
    REQUIRE(!node.temp_left());
  }
  SECTION("idle connections filling the lender's port do not lock a fetch out") {
    Lender lender(node.binary.bytes);
    std::vector<wire::Socket> idle;
    for (int i = 0; i < 2 * relay::kMaxShareConnections; ++i)
      idle.push_back(wire::connect_tcp("127.0.0.1", lender.share.port(), 2000));
    REQUIRE(node.fetch(shell, lender.donor(), wire::new_nonce(), &err) == 0);
    REQUIRE(slurp(node.installed()) == node.binary.bytes);
    REQUIRE(lender.refused("relay share: too many connections at once"));
  }
  SECTION("no lender listening: the fetch fails, leaving nothing") {
    treesync::Donor gone;
    {
      Lender lender(node.binary.bytes);
      gone = lender.donor();
    }
    REQUIRE(node.fetch(shell, gone, wire::new_nonce(), &err) != 0);
    REQUIRE(!fs::exists(node.installed()));
    REQUIRE(!node.temp_left());
  }
}

TEST_CASE("the fetch command holds nothing but a numeric address, a port and hex") {
  Node node;
  const std::string secret = wire::new_edge_key();
  const std::string nonce = wire::new_nonce();
  const std::string cmd = treesync::relay_fetch_command(node.binary, {"node1", "10.0.0.7", 40000, secret}, nonce);
  REQUIRE(cmd.find("/dev/tcp/10.0.0.7/40000") != std::string::npos);
  REQUIRE(cmd.find(nonce + " " + wire::share_mac(secret, nonce)) != std::string::npos);
  REQUIRE(cmd.find(secret) == std::string::npos);  // the token, never the secret
  REQUIRE(cmd.find("node1") == std::string::npos);
  REQUIRE_NOTHROW(treesync::relay_fetch_command(node.binary, {"n", "fd00::7", 1, secret}, nonce));
  for (const std::string address : {"10.0.0.7; touch /tmp/x", "$(id)", "host.example", "10.0.0.7 ", "", "`id`"})
    REQUIRE_THROWS(treesync::relay_fetch_command(node.binary, {"n", address, 40000, secret}, nonce));
  for (int port : {0, -1, 65536})
    REQUIRE_THROWS(treesync::relay_fetch_command(node.binary, {"n", "10.0.0.7", port, secret}, nonce));
  for (const std::string bad : {"ABCDEF", "ab cd", "ab;rm", "ab'"})
    REQUIRE_THROWS(treesync::relay_fetch_command(node.binary, {"n", "10.0.0.7", 40000, secret}, bad));
}
