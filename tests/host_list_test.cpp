// A plain list of hosts (src/input/host_list.h), as the seed script's users keep them.
#include <catch2/catch.hpp>

#include "src/errors.h"
#include "src/input/host_list.h"
#include "tests/usage_error.h"

using namespace treesync;

namespace {
std::string error_of(const std::string& text) {
  return usage_error_of([&] { parse_host_list(text, "hosts.txt"); });
}
}  // namespace

TEST_CASE("host list: host, user@host, host:port, comments and blank lines") {
  Inventory inv = parse_host_list(R"(# the seed's nodes
node1
root@node2   # rack 2
  ops@10.0.0.13:2222

gpu_04
10.0.0.15:22
fe80::1
[fe80::2]:2201
)", "hosts.txt");
  REQUIRE(inv.nodes.size() == 7);
  const Node& a = inv.nodes[0];
  CHECK((a.name == "node1" && a.host == "node1" && a.user == "root" && !a.user_given && a.port == 22 &&
         !a.port_given && a.index == 0 && a.type == "docker"));
  CHECK((inv.nodes[1].name == "node2" && inv.nodes[1].user == "root" && inv.nodes[1].user_given));
  const Node& c = inv.nodes[2];
  CHECK((c.name == "10.0.0.13:2222" && c.host == "10.0.0.13" && c.user == "ops" && c.port == 2222 && c.port_given &&
         c.index == 2));
  CHECK(inv.nodes[3].host == "gpu_04");  // an ssh config alias
  CHECK((inv.nodes[4].name == "10.0.0.15:22" && inv.nodes[4].port_given));
  CHECK((inv.nodes[5].host == "fe80::1" && inv.nodes[5].port == 22 && !inv.nodes[5].port_given));
  CHECK((inv.nodes[6].host == "fe80::2" && inv.nodes[6].port == 2201 && inv.nodes[6].name == "[fe80::2]:2201"));
  CHECK(inv.path == "hosts.txt");
}

TEST_CASE("host list: what it refuses names the line") {
  CHECK(error_of("a\nRoot@b\n") == "hosts.txt:2: 'Root' is not a user name");
  CHECK(error_of("a:0\n") == "hosts.txt:1: port 0 is outside 1..65535");
  CHECK(error_of("a:70000\n") == "hosts.txt:1: port 70000 is outside 1..65535");
  CHECK(error_of("a:123456\n") == "hosts.txt:1: port 123456 is outside 1..65535");
  CHECK(error_of("a:\n") == "hosts.txt:1: 'a:' has no port after ':'");
  CHECK(error_of("node1:22x\n") == "hosts.txt:1: 'node1:22x' is not a host (expected host, user@host or host:port)");
  CHECK(error_of("a b\n") == "hosts.txt:1: 'a b' is not a host (expected host, user@host or host:port)");
  CHECK(error_of("-oProxyCommand=x\n").find("is not a host") != std::string::npos);
  CHECK(error_of("host;reboot\n").find("is not a host") != std::string::npos);
  CHECK(error_of("node1\n# again\nroot@node1\n") == "hosts.txt:3: 'node1' is listed twice (first on line 1)");
  // The same host on two ports is two nodes.
  CHECK(error_of("h:2201\nh:2202\n") == "no error");
  CHECK(error_of("h:2201\nh:2201\n") == "hosts.txt:2: 'h:2201' is listed twice (first on line 1)");
  CHECK(error_of("# nothing\n\n") == "hosts.txt: the list names no hosts");
}

TEST_CASE("host list: told apart from the other formats by its shape") {
  CHECK(looks_like_host_list("node1\nroot@node2:22\n# c\n"));
  CHECK(looks_like_host_list("Root@b\n"));  // a list, whose user parse_host_list refuses by line
  CHECK_FALSE(looks_like_host_list(""));
  CHECK_FALSE(looks_like_host_list("# only comments\n"));
  CHECK_FALSE(looks_like_host_list("nodes:\n  - {name: a}\n"));
  CHECK_FALSE(looks_like_host_list("all:\n"));
  CHECK_FALSE(looks_like_host_list("[web]\nnode1\n"));
  CHECK_FALSE(looks_like_host_list("[db]\nnode1\n"));  // hex digits, but no colon: a section
  CHECK(looks_like_host_list("[fe80::2]\n"));
  CHECK_FALSE(looks_like_host_list("node[01:10]\n"));
  CHECK_FALSE(looks_like_host_list("w1 ansible_host=10.0.0.1\n"));
  CHECK_FALSE(looks_like_host_list("---\n"));
  CHECK_FALSE(looks_like_host_list("- a\n"));
}
