#include <catch2/catch.hpp>

#include <chrono>

#include "src/errors.h"
#include "src/input/host_range.h"
#include "src/input/inventory.h"
#include "src/input/inventory_format.h"
#include "src/input/selection.h"
#include "tests/usage_error.h"

using namespace treesync;

namespace {
const char* kInventory = R"(
defaults:
  user: ops
  port: 2222
  type: docker
nodes:
  - name: d0
    host: 10.0.0.10
  - name: d1
    host: 10.0.0.11
    zone: rack2
  - name: i0
    host: i0.lan
    type: iarnet
    groups: [gpu]
  - name: d3
    host: 10.0.0.13
    port: 22
    user: root
    groups: [gpu, edge]
)";
}

TEST_CASE("an inventory with defaults and per-node fields") {
  Inventory inv = parse_inventory(kInventory, "inv.yaml");
  REQUIRE(inv.nodes.size() == 4);
  CHECK(inv.nodes[0].user == "ops");
  CHECK(inv.nodes[0].port == 2222);
  CHECK(inv.nodes[0].index == 0);
  CHECK(inv.nodes[1].zone == "rack2");
  CHECK(inv.nodes[2].type == "iarnet");
  CHECK(inv.nodes[3].port == 22);
  CHECK(inv.nodes[3].user == "root");
  CHECK(inv.nodes[3].index == 3);
  CHECK(inv.nodes[3].groups == std::vector<std::string>{"gpu", "edge"});
}

namespace {
// The one-line error an inventory text gets, or "no error".
std::string error_of(const std::string& text) {
  return usage_error_of([&] { parse_inventory(text, "inv.yaml"); });
}
}  // namespace

TEST_CASE("malformed inventories name the file, line and field") {
  CHECK_THAT(error_of("nodes:\n  - name: a\n    host: [x\n"), Catch::StartsWith("inv.yaml:") && Catch::Contains("malformed YAML"));
  CHECK_THAT(error_of("nodes:\n  - name: a\n    host: h\n    colour: red\n"),
             Catch::StartsWith("inv.yaml:4:5") && Catch::Contains("unknown field 'colour'"));
  CHECK_THAT(error_of("defaults:\n  name: x\nnodes:\n  - {name: a, host: h}\n"), Catch::Contains("in defaults"));
  CHECK_THAT(error_of("nodez: []\n"), Catch::Contains("unknown top-level field 'nodez'"));
  CHECK_THAT(error_of("nodes: []\n"), Catch::Contains("lists no nodes"));
  CHECK_THAT(error_of("defaults: {user: root}\n"), Catch::Contains("lists no nodes"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h}\n  - {name: a, host: g}\n"),
             Catch::StartsWith("inv.yaml:3:") && Catch::Contains("duplicate node name 'a'"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, index: 1}\n  - {name: b, host: g}\n"),
             Catch::Contains("index 1, already used by 'a'"));
  CHECK(parse_inventory("nodes:\n  - {name: a}\n", "inv.yaml").nodes[0].host == "a");  // resolved as `ssh a` would
  CHECK_THAT(error_of("nodes:\n  - {host: h}\n"), Catch::Contains("has no 'name'"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, port: 70000}\n"), Catch::Contains("outside 1..65535"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, port: x}\n"), Catch::Contains("whole number"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: 'h; reboot'}\n"), Catch::Contains("not a host name"));
  CHECK_THAT(error_of("nodes:\n  - {name: 'a$(id)', host: h}\n"), Catch::Contains("not a node name"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, user: 'root -oProxyCommand=x'}\n"),
             Catch::Contains("not a user name"));
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, groups: gpu}\n"), Catch::Contains("must be a list"));
  CHECK_THAT(error_of("- a\n- b\n"), Catch::Contains("expected a map"));
}

TEST_CASE("sudo: per node and in defaults; absent means detect on the node") {
  Inventory inv = parse_inventory(
      "defaults: {user: ops, sudo: true}\nnodes:\n  - {name: a}\n  - {name: b, sudo: false}\n  - {name: c, sudo: yes}\n",
      "inv.yaml");
  CHECK(inv.nodes[0].sudo == "yes");
  CHECK(inv.nodes[1].sudo == "no");
  CHECK(inv.nodes[2].sudo == "yes");
  CHECK(parse_inventory("nodes:\n  - {name: a}\n", "inv.yaml").nodes[0].sudo.empty());
  CHECK_THAT(error_of("nodes:\n  - {name: a, sudo: 'docker; id'}\n"),
             Catch::StartsWith("inv.yaml:2:") && Catch::Contains("'sudo' value 'docker; id' is not true or false"));
}

TEST_CASE("a missing inventory file says how to give one") {
  CHECK_THROWS_WITH(load_inventory("/nonexistent/inv.yaml"), Catch::Contains("--inventory"));
}

TEST_CASE("--node-type selects types and groups; all selects every node") {
  Inventory inv = parse_inventory(kInventory, "inv.yaml");
  auto names = [](const std::vector<Node>& nodes) {
    std::vector<std::string> out;
    for (const auto& n : nodes) out.push_back(n.name);
    return out;
  };
  CHECK(names(select_nodes(inv, "docker", "")) == std::vector<std::string>{"d0", "d1", "d3"});
  CHECK(names(select_nodes(inv, "iarnet", "")) == std::vector<std::string>{"i0"});
  CHECK(names(select_nodes(inv, "gpu", "")) == std::vector<std::string>{"i0", "d3"});
  CHECK(names(select_nodes(inv, "all", "")) == std::vector<std::string>{"d0", "d1", "i0", "d3"});
  CHECK_THROWS_WITH(select_nodes(inv, "storage", ""), Catch::Contains("types and groups there: all, docker, edge, gpu, iarnet"));
}

TEST_CASE("--nodes picks by index and name within the selected type") {
  Inventory inv = parse_inventory(kInventory, "inv.yaml");
  CHECK(select_nodes(inv, "docker", "0-1").size() == 2);
  CHECK(select_nodes(inv, "docker", "0-3").size() == 3);  // a range skips nodes of other types
  CHECK(select_nodes(inv, "all", "0,2").size() == 2);
  CHECK(select_nodes(inv, "docker", "d3,0").front().name == "d0");  // inventory order
  CHECK_THROWS_WITH(select_nodes(inv, "docker", "99"), Catch::Contains("has 4 node(s), indexes 0-3"));
  CHECK_THROWS_WITH(select_nodes(inv, "docker", "2"), Catch::Contains("is of type 'iarnet'"));
  CHECK_THROWS_WITH(select_nodes(inv, "docker", "nosuch"), Catch::Contains("no node named 'nosuch'"));
  CHECK_THROWS_WITH(select_nodes(inv, "docker", "3-2"), Catch::Contains("reversed"));
}

TEST_CASE("limits: a node's own, else its zone's; rates checked with file and line") {
  Inventory inv = parse_inventory(R"(zones:
  rack2: {limit: 100M}
nodes:
  - {name: a, host: h1, zone: rack2}
  - {name: b, host: h2, zone: rack2, limit: 6MB/s}
  - {name: c, host: h3, limit: 1G}
  - {name: d, host: h4}
)", "inv.yaml");
  CHECK(inv.nodes[0].limit == 100000000u);
  CHECK(inv.nodes[1].limit == 48000000u);
  CHECK(inv.nodes[2].limit == 1000000000u);
  CHECK(inv.nodes[3].limit == 0);
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, limit: 50}\n"),
             Catch::StartsWith("inv.yaml:2:") && Catch::Contains("'limit' value '50' is not a rate: use e.g. 50M"));
  CHECK_THAT(error_of("zones:\n  rack2: {limit: fast}\nnodes:\n  - {name: a, host: h, zone: rack2}\n"),
             Catch::StartsWith("inv.yaml:2:") && Catch::Contains("not a rate"));
  CHECK_THAT(error_of("zones:\n  rack2: {speed: 1G}\nnodes:\n  - {name: a, host: h, zone: rack2}\n"),
             Catch::Contains("unknown field 'speed' in zone 'rack2' (allowed: limit)"));
  CHECK_THAT(error_of("zones:\n  rack9: {limit: 1G}\nnodes:\n  - {name: a, host: h, zone: rack2}\n"),
             Catch::Contains("zone 'rack9' has no nodes"));
  CHECK_THAT(error_of("zones: [rack2]\nnodes:\n  - {name: a, host: h}\n"), Catch::Contains("'zones' must be a map"));
  CHECK_THAT(error_of("defaults: {limit: 1G}\nnodes:\n  - {name: a, host: h}\n"), Catch::Contains("in defaults"));
}

namespace {
// The nodes an inventory text of any format makes, as "name host user port type groups".
std::vector<std::string> nodes_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& n : read_inventory(text, "inv").nodes) {
    std::string groups;
    for (const auto& g : n.groups) groups += (groups.empty() ? "" : ",") + g;
    out.push_back(n.name + " " + n.host + " " + n.user + " " + std::to_string(n.port) + " " + n.type +
                  (groups.empty() ? "" : " " + groups));
  }
  return out;
}
std::string format_error(const std::string& text) {
  return usage_error_of([&] { read_inventory(text, "inv"); });
}
using Lines = std::vector<std::string>;
}  // namespace

TEST_CASE("the inventory's format is told by its content") {
  // treesync's own YAML, as before.
  CHECK(nodes_of("nodes:\n  - {name: a, host: 10.0.0.1}\n") == Lines{"a 10.0.0.1 root 22 docker"});
  // A plain list of hosts.
  CHECK(nodes_of("# rack 1\nnode1\n\nops@node2:2222\n") ==
        Lines{"node1 node1 root 22 docker", "node2:2222 node2 ops 2222 docker"});
  // Ansible INI, with and without a section header; a range alone is INI too.
  CHECK(nodes_of("[web]\nw1 ansible_host=10.0.0.1\n") == Lines{"w1 10.0.0.1 root 22 docker web"});
  CHECK(nodes_of("[db]\nd1\n") == Lines{"d1 d1 root 22 docker db"});
  CHECK(nodes_of("# hosts\nb1 ansible_host=10.0.0.1\n[web]\nw1\n") ==
        Lines{"b1 10.0.0.1 root 22 docker ungrouped", "w1 w1 root 22 docker web"});
  CHECK(nodes_of("w1 ansible_host=10.0.0.1\n") == Lines{"w1 10.0.0.1 root 22 docker ungrouped"});
  CHECK(nodes_of("node[1:2]\n") == Lines{"node1 node1 root 22 docker ungrouped", "node2 node2 root 22 docker ungrouped"});
  // Ansible YAML.
  CHECK(nodes_of("all:\n  hosts:\n    w1: {ansible_port: 2200}\n") == Lines{"w1 w1 root 2200 docker ungrouped"});
  CHECK(nodes_of("web:\n  hosts: {w1: }\n") == Lines{"w1 w1 root 22 docker web"});
  // A single host:port line is a list, not the YAML map {node1: 2222}.
  CHECK(nodes_of("node1:2222\n") == Lines{"node1:2222 node1 root 2222 docker"});
}

TEST_CASE("an inventory in none of the formats gets one line naming them") {
  const std::string none = "inv: not an inventory treesync reads: expected treesync's YAML (nodes:), an Ansible "
                           "inventory (INI or YAML) or a list of hosts, one per line (docs/inventory.md)";
  CHECK(format_error("- a\n- b\n") == none);
  CHECK(format_error("") == none);
  CHECK(format_error("# only a comment\n") == none);
  CHECK(format_error("hello world, this is prose\n") == none);
  CHECK(format_error(std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10)) == none);
  // YAML that does not parse is still read as treesync's, which says where.
  CHECK_THAT(format_error("nodes:\n  - name: a\n    host: [x\n"), Catch::Contains("malformed YAML"));
  // A treesync inventory with a typo keeps its own message.
  CHECK_THAT(format_error("nodez: []\n"), Catch::Contains("unknown top-level field 'nodez'"));
  CHECK_THAT(format_error("defaults: {user: ops}\n"), Catch::Contains("lists no nodes"));
}

// Inventories are files anyone may hand the tool: shapes that cost a parser
// its stack or exponential time are refused or cheap.
TEST_CASE("hostile inventory shapes: a huge line, a diamond of groups, a long range tail") {
  CHECK(format_error("node1\n" + std::string(100000, 'a') + "\n") ==
        "inv:2: a line of 100000 characters; no inventory line is longer than 4096");
  // 40 levels of groups, each with two children that share the next: 2^40
  // paths up, one visit per group.
  std::string diamond = "[g0]\nh1\n";
  for (int i = 0; i < 40; ++i) {
    const std::string at = std::to_string(i), next = std::to_string(i + 1);
    diamond += "[l" + at + "]\n[r" + at + "]\n[g" + next + "]\n[l" + at + ":children]\ng" + at + "\n[r" + at +
               ":children]\ng" + at + "\n[g" + next + ":children]\nl" + at + "\nr" + at + "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  Inventory inv = read_inventory(diamond, "hosts.ini");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  REQUIRE(inv.nodes.size() == 1);
  CHECK(inv.nodes[0].groups.size() == 121);  // g0..g40, l0..l39, r0..r39
  // A range followed by many one-value ranges: the tail is expanded once.
  std::string tail;
  for (int i = 0; i < 900; ++i) tail += "[a:a]";
  CHECK(expand_host_range("n[0:9999]" + tail).size() == 10000);
}

TEST_CASE("--node-type picks Ansible groups; docker picks every host unless a group is named docker") {
  Inventory inv = read_inventory("[web]\nw1\nw2\n[db]\nd1\nw2\n[prod:children]\nweb\n", "hosts.ini");
  auto names = [](const std::vector<Node>& nodes) {
    std::vector<std::string> out;
    for (const auto& n : nodes) out.push_back(n.name);
    return out;
  };
  CHECK(names(select_nodes(inv, "docker", "")) == Lines{"w1", "w2", "d1"});
  CHECK(names(select_nodes(inv, "web", "")) == Lines{"w1", "w2"});
  CHECK(names(select_nodes(inv, "db", "")) == Lines{"w2", "d1"});  // a node in several groups matches each
  CHECK(names(select_nodes(inv, "prod", "")) == Lines{"w1", "w2"});  // through children
  CHECK(names(select_nodes(inv, "web", "1-2")) == Lines{"w2"});
  CHECK_THROWS_WITH(select_nodes(inv, "cache", ""),
                    Catch::Contains("matches no node in hosts.ini (types and groups there: all, db, docker, prod, web)"));
  // With a group named docker, the default picks that group only.
  Inventory with_docker = read_inventory("[docker]\nd1\n[iarnet]\ni1\n", "hosts.ini");
  CHECK(names(select_nodes(with_docker, "docker", "")) == Lines{"d1"});
  CHECK(names(select_nodes(with_docker, "iarnet", "")) == Lines{"i1"});
  CHECK_THROWS_WITH(select_nodes(with_docker, "docker", "1"), Catch::Contains("node 'i1' is of type 'iarnet'"));
}

TEST_CASE("--nodes names a host list's node even when it is an address") {
  Inventory inv = read_inventory("10.0.0.11\n10.0.0.12\n", "hosts.txt");
  REQUIRE(select_nodes(inv, "docker", "10.0.0.12").size() == 1);
  CHECK(select_nodes(inv, "docker", "10.0.0.12")[0].index == 1);
  CHECK(select_nodes(inv, "docker", "0-1").size() == 2);
}

TEST_CASE("links: uplink and downlink per node or in defaults, as rates, for the cost model") {
  Inventory inv = parse_inventory(R"(defaults: {uplink: 1G, downlink: 1G}
nodes:
  - {name: a, host: h1}
  - {name: b, host: h2, uplink: 100M}
)", "inv.yaml");
  CHECK(inv.nodes[0].uplink == 1000000000u);
  CHECK(inv.nodes[0].downlink == 1000000000u);
  CHECK(inv.nodes[1].uplink == 100000000u);
  CHECK(inv.nodes[1].downlink == 1000000000u);
  CHECK_THAT(error_of("nodes:\n  - {name: a, host: h, downlink: quick}\n"),
             Catch::StartsWith("inv.yaml:2:") && Catch::Contains("'downlink' value 'quick' is not a rate"));
}
