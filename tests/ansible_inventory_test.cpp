// Ansible inventories (src/input/ansible_ini.h, ansible_yaml.h, their shared
// ansible_groups.h) and host ranges (host_range.h).
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include "src/errors.h"
#include "src/input/ansible_ini.h"
#include "src/input/ansible_yaml.h"
#include "src/input/host_range.h"
#include "tests/usage_error.h"

using namespace treesync;

namespace {
using Lines = std::vector<std::string>;
// Each node as "name host user port type groups".
Lines described(const Inventory& inv) {
  Lines out;
  for (const auto& n : inv.nodes) {
    std::string groups;
    for (const auto& g : n.groups) groups += (groups.empty() ? "" : ",") + g;
    out.push_back(n.name + " " + n.host + " " + n.user + " " + std::to_string(n.port) + " " + n.type + " " + groups);
  }
  return out;
}
Lines ini(const std::string& text) { return described(parse_ansible_ini(text, "hosts.ini")); }
Lines yaml(const std::string& text) { return described(parse_ansible_yaml(YAML::Load(text), "hosts.yml")); }
std::string ini_error(const std::string& text) {
  return usage_error_of([&] { parse_ansible_ini(text, "hosts.ini"); });
}
std::string yaml_error(const std::string& text) {
  return usage_error_of([&] { parse_ansible_yaml(YAML::Load(text), "hosts.yml"); });
}
std::string range_error(const std::string& p) { return usage_error_of([&] { expand_host_range(p); }); }
}  // namespace

TEST_CASE("host ranges expand as Ansible's") {
  CHECK(expand_host_range("node1") == Lines{"node1"});
  CHECK(expand_host_range("node[1:3]") == Lines{"node1", "node2", "node3"});
  CHECK(expand_host_range("node[08:10].lan") == Lines{"node08.lan", "node09.lan", "node10.lan"});
  CHECK(expand_host_range("n[:2]") == Lines{"n0", "n1", "n2"});
  CHECK(expand_host_range("n[0:8:4]") == Lines{"n0", "n4", "n8"});
  CHECK(expand_host_range("db-[a:c]") == Lines{"db-a", "db-b", "db-c"});
  CHECK(expand_host_range("r[1:2]n[a:b]") == Lines{"r1na", "r1nb", "r2na", "r2nb"});
  CHECK(expand_host_range("n[1:10000]").size() == 10000);
}

TEST_CASE("host ranges: what Ansible refuses, and more than 10000 hosts, is one line") {
  const std::string hint = " (expected e.g. node[01:10], node[a:f] or node[0:8:2])";
  CHECK(range_error("n[3:1]") == "host range 'n[3:1]': [3:1] is reversed" + hint);
  CHECK(range_error("n[c:a]") == "host range 'n[c:a]': [c:a] is reversed" + hint);
  CHECK(range_error("n[1-3]") == "host range 'n[1-3]': [1-3] is not a range" + hint);
  CHECK(range_error("n[a:3]") == "host range 'n[a:3]': [a:3] is not a range" + hint);
  CHECK(range_error("n[1:]") == "host range 'n[1:]': [1:] is not a range" + hint);
  CHECK(range_error("n[01:100]") ==
        "host range 'n[01:100]': begin and end must have the same width when zero-padded" + hint);
  CHECK(range_error("n[1:4:0]") == "host range 'n[1:4:0]': the step must be at least 1" + hint);
  CHECK(range_error("n[1:3") == "host range 'n[1:3': unbalanced [ ]");
  CHECK(range_error("n[1:2]]") == "host range 'n[1:2]]': unbalanced [ ]");
  CHECK(range_error("n[0:10000]") == "host range 'n[0:10000]': more than 10000 hosts" + hint);
  CHECK(range_error("a[1:200]b[1:200]") == "host range 'a[1:200]b[1:200]': more than 10000 hosts");
}

TEST_CASE("Ansible INI: groups, children, vars, and Ansible's precedence") {
  CHECK(ini(R"(# hosts before any section are ungrouped
bastion ansible_host=10.0.0.1

[web]
web1 ansible_host=10.0.0.11 ansible_user=deploy
web[2:3] ansible_port=2222   # a range takes the line's variables
10.0.0.14:2200

[db]
db1 ansible_host="10.0.0.21"
web1

[prod:children]
web
db

[prod:vars]
ansible_user=ops
ansible_ssh_common_args='-o Foo=bar'

[web:vars]
ansible_user = webops

[all:vars]
ansible_user=admin
ansible_port=22
ansible_python_interpreter=/usr/bin/python3
)") == Lines{
            "bastion 10.0.0.1 admin 22 docker ungrouped",
            // groups from the shallowest; host var > web (depth 2) > db > prod > all
            "web1 10.0.0.11 deploy 22 docker prod,db,web",
            "web2 web2 webops 2222 docker prod,web",
            "web3 web3 webops 2222 docker prod,web",
            "10.0.0.14 10.0.0.14 webops 2200 docker prod,web",
            "db1 10.0.0.21 ops 22 docker prod,db",
        });
  // Same depth: the group whose name sorts last wins, as Ansible.
  CHECK(ini("[a]\nh\n[b]\nh\n[a:vars]\nansible_user=from_a\n[b:vars]\nansible_user=from_b\n") ==
        Lines{"h h from_b 22 docker a,b"});
  // A host listed twice is one node; its variables merge, the later winning.
  CHECK(ini("[a]\nh ansible_user=one ansible_port=2000\n[b]\nh ansible_user=two\n") ==
        Lines{"h h two 2000 docker a,b"});
  // User and port only when written: the ssh config may give them otherwise.
  Inventory inv = parse_ansible_ini("[a]\nh\nk ansible_user=ops ansible_port=2\n", "hosts.ini");
  CHECK((!inv.nodes[0].user_given && !inv.nodes[0].port_given && inv.nodes[1].user_given && inv.nodes[1].port_given));
  CHECK((inv.nodes[0].index == 0 && inv.nodes[1].index == 1 && inv.path == "hosts.ini"));
  // A group named docker: the default --node-type picks only it.
  CHECK(ini("[docker]\nd1\n[iarnet]\ni1\n[gpu:children]\ndocker\n") ==
        Lines{"d1 d1 root 22 docker gpu,docker", "i1 i1 root 22 iarnet iarnet"});
  // [all] is a section too; [ungrouped] as well.
  CHECK(ini("[all]\na\n[ungrouped]\nb\n") == Lines{"a a root 22 docker ungrouped", "b b root 22 docker ungrouped"});
  // A child declared later is fine, and so is :vars before its group's section.
  CHECK(ini("[g:vars]\nansible_port=7\n[p:children]\ng\n[g]\nh\n") == Lines{"h h root 7 docker p,g"});
}

TEST_CASE("Ansible INI: garbage, unknown groups and bad values name the line") {
  CHECK(ini_error("[web\nh\n") ==
        "hosts.ini:1: '[web' is not a section header (expected [group], [group:vars] or [group:children])");
  CHECK(ini_error("[web:hosts]\nh\n") ==
        "hosts.ini:1: unknown section kind 'hosts' (expected [web], [web:vars] or [web:children])");
  CHECK(ini_error("[we$b]\nh\n") == "hosts.ini:1: 'we$b' is not a group name (letters, digits, . _ -)");
  CHECK(ini_error("[web]\nh ansible_user\n") == "hosts.ini:2: 'ansible_user' after the host is not key=value");
  CHECK(ini_error("[web]\nh ansible_user='ops\n") == "hosts.ini:2: unterminated quote");
  CHECK(ini_error("[web:vars]\nansible_user\n") == "hosts.ini:2: 'ansible_user' in [web:vars] is not key=value");
  CHECK(ini_error("[web]\nh\n[web:children]\ndbs\n[db]\nd\n") ==
        "hosts.ini:4: [web:children] names group 'dbs', which the file never declares (a typo? declare it with [dbs])");
  CHECK(ini_error("[web]\nh\n[wbe:vars]\nansible_port=2\n") ==
        "hosts.ini:3: [wbe:vars] is for group 'wbe', which the file never declares (a typo? declare it with [wbe])");
  CHECK(ini_error("[a:children]\nb\n[b:children]\na\n[b]\nh\n") ==
        "hosts.ini:4: making 'a' a child of 'b' would put 'a' inside itself");
  CHECK(ini_error("[a:children]\na\n") == "hosts.ini:2: making 'a' a child of 'a' would put 'a' inside itself");
  CHECK(ini_error("[a:children]\nall\n") == "hosts.ini:2: 'all' cannot be a child group");
  CHECK(ini_error("[a]\nh ansible_port=0\n") == "hosts.ini:2: ansible_port '0' is not a port (1..65535)");
  CHECK(ini_error("[a]\nh ansible_port=ssh\n") == "hosts.ini:2: ansible_port 'ssh' is not a port (1..65535)");
  CHECK(ini_error("[a]\nh:99999\n") == "hosts.ini:2: port '99999' is not a port (1..65535)");
  CHECK(ini_error("[a]\nh:x\n") == "hosts.ini:2: 'h:x' is not a host (expected host, host:port or node[01:10])");
  CHECK(ini_error("[a]\nh ansible_host='{{ lookup() }}'\n") ==
        "hosts.ini:2: ansible_host '{{ lookup() }}' is not a host name or IP address (treesync does not evaluate "
        "templates)");
  CHECK(ini_error("[a]\nh ansible_host=x;reboot\n") ==
        "hosts.ini:2: ansible_host 'x;reboot' is not a host name or IP address");
  CHECK(ini_error("[a]\nh ansible_user=Root\n") == "hosts.ini:2: ansible_user 'Root' is not a user name");
  CHECK(ini_error("[a]\n-oProxyCommand=x\n") == "hosts.ini:2: '-oProxyCommand=x' is not a host name or IP address");
  CHECK(ini_error("[a]\nn[3:1]\n") ==
        "hosts.ini:2: host range 'n[3:1]': [3:1] is reversed (expected e.g. node[01:10], node[a:f] or node[0:8:2])");
  CHECK(ini_error("[a]\n[b]\n") == "hosts.ini: the Ansible inventory names no hosts");
  CHECK(ini_error("# nothing\n") == "hosts.ini: the Ansible inventory names no hosts");
}

TEST_CASE("Ansible YAML: all, hosts, vars and children, nested") {
  CHECK(yaml(R"(
all:
  vars: {ansible_user: admin}
  hosts:
    bastion: {ansible_host: 10.0.0.1}
  children:
    web:
      vars: {ansible_port: 2222}
      hosts:
        web1: {ansible_host: 10.0.0.11, ansible_user: deploy}
        web[2:3]:
        10.0.0.14:2200:
    prod:
      children:
        web:
        db:
          hosts:
            db1: {ansible_host: 10.0.0.21, other: [1, 2]}
            web1:
      vars:
        ansible_user: ops
)") == Lines{
            "bastion 10.0.0.1 admin 22 docker ungrouped",
            "web1 10.0.0.11 deploy 2222 docker prod,db,web",
            "web2 web2 ops 2222 docker prod,web",
            "web3 web3 ops 2222 docker prod,web",
            "10.0.0.14 10.0.0.14 ops 2200 docker prod,web",
            "db1 10.0.0.21 ops 22 docker prod,db",
        });
  CHECK(yaml("web:\n  hosts: {w1: , w2: }\ndb:\n") == Lines{"w1 w1 root 22 docker web", "w2 w2 root 22 docker web"});
}

TEST_CASE("Ansible YAML: what it refuses names line and column") {
  CHECK(yaml_error("all:\n  host:\n    a:\n") ==
        "hosts.yml:2:3: unknown key 'host' in group 'all' (allowed: hosts, vars, children)");
  CHECK(yaml_error("all:\n  hosts: [a, b]\n") == "hosts.yml:2:10: 'hosts' of group 'all' must be a map");
  CHECK(yaml_error("all:\n  children:\n    web: [a]\n") ==
        "hosts.yml:3:10: group 'web' must be a map of hosts, vars and children");
  CHECK(yaml_error("all:\n  hosts:\n    a: x\n") == "hosts.yml:3:8: host 'a' in group 'all' must have a map of variables");
  CHECK(yaml_error("all:\n  hosts:\n    a: {ansible_port: 0}\n") ==
        "hosts.yml:3:23: ansible_port '0' is not a port (1..65535)");
  CHECK(yaml_error("all:\n  hosts:\n    a: {ansible_host: [x]}\n") ==
        "hosts.yml:3:23: ansible_host '(a list)' is not a host name or IP address");
  CHECK(yaml_error("all:\n  vars: {ansible_user: 'r oot'}\n  hosts: {a: }\n") ==
        "hosts.yml:2:24: ansible_user 'r oot' is not a user name");
  CHECK(yaml_error("all:\n  hosts:\n    'n[2:1]':\n") ==
        "hosts.yml:3:5: host range 'n[2:1]': [2:1] is reversed (expected e.g. node[01:10], node[a:f] or node[0:8:2])");
  CHECK(yaml_error("a:\n  children:\n    b:\n      children:\n        a:\n") ==
        "hosts.yml:5:9: making 'a' a child of 'b' would put 'a' inside itself");
  CHECK(yaml_error("all:\n  children:\n    web:\n") == "hosts.yml: the Ansible inventory names no hosts");
}

TEST_CASE("Ansible YAML is told apart from treesync's") {
  CHECK(looks_like_ansible_yaml(YAML::Load("all:\n  hosts: {a: }\n")));
  CHECK(looks_like_ansible_yaml(YAML::Load("web:\n")));
  CHECK_FALSE(looks_like_ansible_yaml(YAML::Load("nodes:\n  - {name: a}\n")));
  CHECK_FALSE(looks_like_ansible_yaml(YAML::Load("defaults: {user: x}\nweb:\n")));
  CHECK_FALSE(looks_like_ansible_yaml(YAML::Load("nodez: []\n")));
  CHECK_FALSE(looks_like_ansible_yaml(YAML::Load("- a\n")));
  CHECK_FALSE(looks_like_ansible_yaml(YAML::Load("")));
}

TEST_CASE("Ansible INI is told apart by its section headers and host lines") {
  CHECK(ini_shape("# c\n[web]\nw1\n") == IniShape::Certain);
  CHECK(ini_shape("b1 ansible_host=10.0.0.1\n[web]\nw1\n") == IniShape::Likely);
  CHECK(ini_shape("node[01:10] ansible_user=ops\nw1  # c\n") == IniShape::Likely);
  CHECK(ini_shape("nodes:\n  - {name: a}\n") == IniShape::No);
  CHECK(ini_shape("hello world\n") == IniShape::No);
  CHECK(ini_shape("- a\n") == IniShape::No);
  CHECK(ini_shape("; only a comment\n") == IniShape::No);
}
