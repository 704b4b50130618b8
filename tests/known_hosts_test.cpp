#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "src/ssh/known_hosts.h"

using namespace treesync;

TEST_CASE("host fields match as OpenSSH matches them") {
  CHECK(host_field_matches("10.0.0.1,node1", "node1", 22));
  CHECK(host_field_matches("10.0.0.1,node1", "10.0.0.1", 22));
  CHECK_FALSE(host_field_matches("10.0.0.1,node1", "node2", 22));
  CHECK(host_field_matches("[node1]:2222", "node1", 2222));
  CHECK_FALSE(host_field_matches("node1", "node1", 2222));
  CHECK(host_field_matches("*.lan", "a.lan", 22));
  CHECK_FALSE(host_field_matches("*.lan,!bad.lan", "bad.lan", 22));
  // `ssh-keygen -H` of "node1" with this salt (HMAC-SHA1).
  CHECK(host_field_matches("|1|c1oRvwfX4CvR/CKb3PFJ8vbRNvs=|ypAUxdO8fCSCgk6PP110jHh8I1g=", "node1", 22));
  CHECK_FALSE(host_field_matches("|1|c1oRvwfX4CvR/CKb3PFJ8vbRNvs=|ypAUxdO8fCSCgk6PP110jHh8I1g=", "node2", 22));
}

TEST_CASE("known key types for a host, in file order, skipping junk lines") {
  std::string path = "known_hosts_test.tmp";
  {
    std::ofstream f(path);
    f << "# comment\n"
      << "garbage\n"
      << "node1,10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n"
      << "@cert-authority * ssh-rsa AAAA\n"
      << "node2 ecdsa-sha2-nistp256 AAAAE2\n"
      << "10.0.0.1 ecdsa-sha2-nistp256 AAAAE2\n"
      << "node1 ssh-ed25519 AAAAC3Nza-again\n";
  }
  CHECK(known_key_types(path, "node1", 22) == std::vector<std::string>{"ssh-ed25519"});
  CHECK(known_key_types(path, "10.0.0.1", 22) == std::vector<std::string>{"ssh-ed25519", "ecdsa-sha2-nistp256"});
  CHECK(known_key_types(path, "node3", 22).empty());
  CHECK(known_key_types("/nonexistent", "node1", 22).empty());
  std::remove(path.c_str());
}
