// treesync's reading of ssh_config against OpenSSH's own: each case writes a
// config (and its Include files) to a temp dir, asks the real `ssh -G -F`
// what it resolves for a host, and compares every field treesync uses.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "src/delivery/node_run.h"
#include "src/errors.h"
#include "src/input/cli.h"
#include "src/input/inventory.h"
#include "src/ssh/ssh_config.h"
#include "tests/temp_dir.h"

using namespace treesync;
namespace fs = std::filesystem;

namespace {

// ssh takes the user and "~" from the passwd entry, treesync from $USER and
// $HOME: make them agree so both sides expand alike.
SshLocal agreed_local() {
  const passwd* pw = getpwuid(getuid());
  REQUIRE(pw != nullptr);
  ::setenv("HOME", pw->pw_dir, 1);
  ::setenv("USER", pw->pw_name, 1);
  return ssh_local();
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// `ssh -G -F config host`, as keyword -> values (identityfile repeats).
std::map<std::string, std::vector<std::string>> ssh_g(const fs::path& config, const std::string& host) {
  std::string cmd = "ssh -G -F '" + config.string() + "' '" + host + "' 2>&1 </dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::map<std::string, std::vector<std::string>> out;
  char buf[4096];
  std::string all;
  while (std::fgets(buf, sizeof buf, p)) {
    std::string line(buf);
    all += line;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    auto sp = line.find(' ');
    if (sp != std::string::npos) out[line.substr(0, sp)].push_back(line.substr(sp + 1));
  }
  INFO(all);
  REQUIRE(::pclose(p) == 0);
  return out;
}

std::string one(const std::map<std::string, std::vector<std::string>>& g, const std::string& key) {
  auto it = g.find(key);
  return it == g.end() ? "(absent)" : join(it->second, "\n");
}

struct Case {
  std::string name, host;
  std::map<std::string, std::string> files;  // path under the temp dir -> text; "config" is the one given
};

// @DIR@: the temp dir; @REL@: the temp dir as a path relative to ~/.ssh,
// which is where ssh looks for a relative Include. The dir is in the home
// directory (not /tmp), so "../" from ~/.ssh differs from "../" from ~ and
// a relative Include resolved against the wrong base finds nothing.
void write_files(const Case& c, const fs::path& dir, const SshLocal& local) {
  fs::path dot_ssh = fs::path(local.home) / ".ssh";
  if (!fs::exists(dot_ssh)) {
    fs::create_directories(dot_ssh);
    fs::permissions(dot_ssh, fs::perms::owner_all);
  }
  std::string rel = fs::relative(dir, dot_ssh).string();
  for (const auto& [name, text] : c.files) {
    std::string t = text;
    for (auto [from, to] : {std::pair<std::string, std::string>{"@DIR@", dir.string()}, {"@REL@", rel}})
      for (std::size_t at; (at = t.find(from)) != std::string::npos;) t.replace(at, from.size(), to);
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << t;
  }
}

const std::vector<Case> cases = {
    {"no config: ssh's defaults", "plain", {{"config", "# nothing\n"}}},
    {"first obtained value wins", "a",
     {{"config", "Host a\n  User first\nHost *\n  User second\n  Port 2022\nHost a\n  Port 3033\n"}}},
    {"Host * before a specific Host wins", "web1",
     {{"config", "Host *\n  Port 2200\nHost web*\n  Port 2300\n  User web\n"}}},
    {"negation: other hosts of the pattern match", "good.lan",
     {{"config", "Host *.lan !bad.lan\n  User lan\nHost *\n  User fallback\n"}}},
    {"negation: the negated host is vetoed", "bad.lan",
     {{"config", "Host *.lan !bad.lan\n  User lan\nHost *\n  User fallback\n"}}},
    {"negation before the positive pattern still vetoes", "bad.lan",
     {{"config", "Host !bad.lan *.lan\n  User lan\n"}}},
    {"? matches one character", "n7",
     {{"config", "Host n??\n  User three\nHost n?\n  User two\n"}}},
    {"Host patterns are case-sensitive, HostName lowercased", "FOO",
     {{"config", "Host foo\n  User lower\nHost FOO\n  User upper\n  HostName Real.Example\n"}}},
    {"Match host sees the HostName set so far", "mh",
     {{"config", "Host mh\n  HostName real.lan\nMatch host real.lan\n  Port 2201\nMatch host mh\n  User nope\n"}}},
    {"Match host list with negation", "xa",
     {{"config", "Match host \"x*,!xb\"\n  Port 1001\n"}}},
    {"Match host list, negated member", "xb",
     {{"config", "Match host \"x*,!xb\"\n  Port 1001\n"}}},
    {"Match originalhost sees the name given", "orig",
     {{"config", "Host orig\n  HostName other\nMatch originalhost orig\n  User o\n"}}},
    {"Match all", "any",
     {{"config", "Host none-of-these\n  Port 9\nMatch all\n  ConnectTimeout 12\n  Port 2022\n"}}},
    {"Include relative to ~/.ssh", "inc",
     {{"config", "Include @REL@/inc/rel.conf\n"}, {"inc/rel.conf", "Host inc\n  User fromrel\n  Port 2401\n"}}},
    {"Include absolute, before other blocks", "inc",
     {{"config", "Include @DIR@/inc/abs.conf\nHost *\n  User later\n"},
      {"inc/abs.conf", "Host inc\n  User fromabs\n"}}},
    {"Include glob, files in sorted order", "g",
     {{"config", "Include @DIR@/conf.d/*.conf\n"},
      {"conf.d/20-b.conf", "Host g\n  User b\n  Port 2020\n"},
      {"conf.d/10-a.conf", "Host g\n  User a\n"}}},
    {"Include inside a Host block that does not match", "other",
     {{"config", "Host nothere\n  Include @DIR@/inc/in.conf\nHost *\n  User star\n"},
      {"inc/in.conf", "Host other\n  User leaked\n"}}},
    {"Include inside a matching Host block; its Host lines rule after it", "h2",
     {{"config", "Host h2\n  Include @DIR@/inc/h.conf\n  Port 2999\nHost *\n  User star\n"},
      {"inc/h.conf", "Port 2888\nHost zzz\n  User z\n"}}},
    {"IdentityFile accumulates, repeats dropped", "keys",
     {{"config", "Host keys\n  IdentityFile ~/.ssh/one\n  IdentitiesOnly yes\nHost *\n  IdentityFile /k/two\n"
                 "  IdentityFile ~/.ssh/one\n  IdentityFile /k/%h_%r\n"}}},
    {"ProxyJump with two hops", "inner",
     {{"config", "Host inner\n  ProxyJump ops@bastion:2222,jump2\nHost *\n  ProxyJump other\n"}}},
    {"ProxyJump none stops later ones", "direct",
     {{"config", "Host direct\n  ProxyJump none\nHost *\n  ProxyJump bastion\n"}}},
    {"StrictHostKeyChecking accept-new", "s", {{"config", "Host s\n  StrictHostKeyChecking accept-new\n"}}},
    {"StrictHostKeyChecking no", "s", {{"config", "Host s\n  StrictHostKeyChecking no\n"}}},
    {"StrictHostKeyChecking off reads as no", "s", {{"config", "StrictHostKeyChecking off\n"}}},
    {"StrictHostKeyChecking yes", "s", {{"config", "Host s\n  StrictHostKeyChecking yes\n"}}},
    {"ConnectTimeout with units", "t", {{"config", "ConnectTimeout 1m30s\n"}}},
    {"tokens in UserKnownHostsFile and HostName", "tok",
     {{"config", "Host tok\n  HostName %h.example.org\n  User remote\n  Port 2345\n"
                 "  UserKnownHostsFile ~/kh/%h_%p %d/kh/%r_%u_%%\n"}}},
    {"Key=value, quotes, comments, keyword case", "q",
     {{"config", "# comment\n  HOST=q   # trailing\n\tuser=\"quoted user\"\n  PORT = 2600\n"
                 "  connecttimeout=5 # five\n  IdentityFile \"/with space/key\"\n"}}},
};

}  // namespace

TEST_CASE("ssh_config resolution agrees with ssh -G") {
  SshLocal local = agreed_local();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SECTION(c.name) {
      TempDir dir("ssh-config-" + std::to_string(i), local.home);
      write_files(c, dir.path, local);
      auto g = ssh_g(dir.path / "config", c.host);
      SshHostConfig r = read_ssh_config((dir.path / "config").string(), c.host, local);
      CHECK(r.hostname == one(g, "hostname"));
      CHECK(r.user == one(g, "user"));
      CHECK(std::to_string(r.port) == one(g, "port"));
      CHECK(join(r.identity_files, "\n") == one(g, "identityfile"));
      CHECK((r.identities_only ? "yes" : "no") == one(g, "identitiesonly"));
      CHECK((r.proxy_jump.empty() ? "(absent)" : join(r.proxy_jump, ",")) == one(g, "proxyjump"));
      CHECK(join(r.user_known_hosts_files, " ") == one(g, "userknownhostsfile"));
      std::string strict = r.strict_host_key_checking == "yes"  ? "true"
                           : r.strict_host_key_checking == "no" ? "false"
                                                                : r.strict_host_key_checking;
      CHECK(strict == one(g, "stricthostkeychecking"));
      CHECK((r.connect_timeout ? std::to_string(*r.connect_timeout) : "none") == one(g, "connecttimeout"));
    }
  }
}

TEST_CASE("ssh_config: IdentityFile tokens expand as for UserKnownHostsFile") {
  SshLocal local{"me", "/home/me"};
  SshHostConfig r = resolve_ssh_host("Host n\n  HostName N.lan\n  User ops\n  Port 2200\n", "cfg", "n", local,
                                     [](const std::string&) { return std::vector<SshConfigFile>{}; });
  CHECK(expand_ssh_path("~/.ssh/%h_%p_%r_%u_%%", r, local) == "/home/me/.ssh/n.lan_2200_ops_me_%");
  CHECK(expand_ssh_path("%d/k", r, local) == "/home/me/k");
  CHECK_THROWS_AS(expand_ssh_path("~/%C", r, local), UsageError);
}

TEST_CASE("ssh_config: ProxyCommand is read (first value wins, none is none), so that a node behind one is refused") {
  SshLocal local{"me", "/home/me"};
  auto none = [](const std::string&) { return std::vector<SshConfigFile>{}; };
  CHECK(resolve_ssh_host("Host n\n  ProxyCommand ssh -W %h:%p bastion\nHost *\n  ProxyCommand nc x 22\n", "cfg", "n",
                         local, none)
            .proxy_command == "ssh -W %h:%p bastion");
  CHECK(resolve_ssh_host("Host n\n  ProxyCommand none\nHost *\n  ProxyCommand nc x 22\n", "cfg", "n", local, none)
            .proxy_command.empty());
  CHECK(resolve_ssh_host("Host other\n  ProxyCommand nc x 22\n", "cfg", "n", local, none).proxy_command.empty());
}

TEST_CASE("ssh_config: what ssh refuses, or treesync cannot evaluate, is an error naming the line") {
  SshLocal local{"me", "/home/me"};
  std::function<std::vector<SshConfigFile>(const std::string&)> loop = [&](const std::string& pattern) {
    return std::vector<SshConfigFile>{{pattern, "Include " + pattern + "\n"}};
  };
  auto error = [&](const std::string& text) {
    try {
      resolve_ssh_host(text, "cfg", "h", local, loop);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error("Host h\n  Port 0\n") == "ssh config cfg line 2: bad Port \"0\" (1 to 65535)");
  CHECK(error("Port 70000\n").find("bad Port") != std::string::npos);
  CHECK(error("Match exec \"true\"\n").find("line 1: Match exec is not supported") != std::string::npos);
  CHECK(error("User \"unterminated\n").find("unterminated quote") != std::string::npos);
  CHECK(error("StrictHostKeyChecking maybe\n").find("bad StrictHostKeyChecking") != std::string::npos);
  CHECK(error("ConnectTimeout soon\n").find("bad ConnectTimeout") != std::string::npos);
  CHECK(error("Include /loop.conf\n").find("nested too deeply") != std::string::npos);
}

TEST_CASE("ssh_config: a node is reached as the ssh config says, explicit settings winning") {
  SshLocal local = agreed_local();
  TempDir dir("ssh-config-wiring", local.home);
  std::ofstream(dir.path / "key") << "not a real key\n";
  std::ofstream(dir.path / "config")
      << "Host n1\n  HostName 10.9.8.7\n  Port 2222\n  User ops\n  IdentityFile " << (dir.path / "missing").string()
      << "\n  IdentityFile " << (dir.path / "key").string()
      << "\n  UserKnownHostsFile ~/kh_%h ~/kh_more\n  StrictHostKeyChecking accept-new\n  ConnectTimeout 4\n  IdentitiesOnly yes\n"
      << "Host jumpy\n  ProxyJump bastion,ops@inner:2200\nHost lax\n  StrictHostKeyChecking no\n"
      << "Host pinned\n  StrictHostKeyChecking yes\n"
      << "Host bastion\n  HostName 10.0.0.1\n  User jump\n  Port 2022\n  IdentityFile " << (dir.path / "key").string()
      << "\n  UserKnownHostsFile ~/kh_bastion\n  ProxyJump outer\n"
      << "Host inner\n  HostName 10.1.0.1\n  ProxyJump ignored\n  ProxyCommand ignored too\n"
      << "Host loop1\n  ProxyJump loop2\nHost loop2\n  ProxyJump loop1\n"
      << "Host viacmd\n  ProxyJump cmd\nHost cmd\n  ProxyCommand nc %h %p\n"
      << "Host badhop\n  ProxyJump user@:22\n";
  Options o;
  o.ssh_config = (dir.path / "config").string();
  o.known_hosts = "/default/known_hosts";
  Node n;
  n.name = "n1";
  n.host = "n1";
  n.user = "root";  // the inventory's built-in default: the config's User wins over it

  SshConfig c = ssh_config(n, o);
  CHECK(c.host == "10.9.8.7");
  CHECK(c.port == 2222);
  CHECK(c.user == "ops");
  CHECK(c.identity == (dir.path / "key").string());  // the first that exists, as ssh skips missing ones
  CHECK(c.known_hosts == local.home + "/kh_10.9.8.7");
  CHECK(c.known_hosts_also == std::vector<std::string>{local.home + "/kh_more"});  // read, never written
  CHECK(c.accept_new_host_keys);
  CHECK(c.connect_timeout_s == 4);
  CHECK(c.identities_only);  // the session then offers no agent key but the identity file's

  // What the inventory and the command line set explicitly wins.
  n.port = 22, n.port_given = true;
  n.user = "root", n.user_given = true;
  n.identity = "/inv/key";
  o.known_hosts_given = true;
  o.connect_timeout = 9, o.connect_timeout_given = true;
  c = ssh_config(n, o);
  CHECK(c.host == "10.9.8.7");
  CHECK(c.port == 22);
  CHECK(c.user == "root");
  CHECK(c.identity == "/inv/key");
  CHECK(c.known_hosts == "/default/known_hosts");
  CHECK(c.connect_timeout_s == 9);

  // A host the config does not name keeps the inventory's values.
  Node plain;
  plain.name = plain.host = "elsewhere";
  plain.user = "root";
  c = ssh_config(plain, o);
  CHECK((c.host == "elsewhere" && c.port == 22 && c.user == "root" && c.identity.empty() && !c.identities_only));

  auto failure = [&](const std::string& host) {
    Node x;
    x.name = x.host = host;
    try {
      ssh_config(x, o);
    } catch (const NodeError& e) {
      return e.step + ": " + e.what();
    }
    return std::string("no error");
  };
  CHECK(failure("loop1") == "connect: more than 8 jump hosts to reach loop1 (a ProxyJump loop in " + o.ssh_config + "?)");
  CHECK(failure("viacmd") == "connect: ProxyCommand is not supported (cmd: nc %h %p): use ProxyJump, or reach the host directly");
  CHECK_THAT(failure("badhop"), Catch::StartsWith("connect: ProxyJump hop 'user@:22': no host"));
  CHECK_THAT(failure("lax"), Catch::StartsWith("connect: StrictHostKeyChecking no in ") &&
                                 Catch::Contains("is refused for node lax"));
  // The operator insists: taken as accept-new, which still refuses a changed key.
  o.accept_new_host_keys = true;
  CHECK(failure("lax") == "no error");
  Node lax;
  lax.name = lax.host = "lax";
  CHECK(ssh_config(lax, o).accept_new_host_keys);
  // A host the config pins (yes) stays pinned: the flag is for hosts it leaves open.
  Node pinned;
  pinned.name = pinned.host = "pinned";
  CHECK_FALSE(ssh_config(pinned, o).accept_new_host_keys);

  // ProxyJump as ssh -J runs it: the first hop with its own ProxyJump (ssh
  // runs `ssh -W ... bastion`, which reads bastion's), each hop resolved
  // through the config, what the hop names winning; later hops' own
  // ProxyJump and ProxyCommand overridden (-J).
  o.known_hosts_given = false;
  Node jumpy;
  jumpy.name = jumpy.host = "jumpy";
  jumpy.user = "root";
  c = ssh_config(jumpy, o);
  REQUIRE(c.jumps.size() == 3);
  CHECK((c.jumps[0].name == "outer" && c.jumps[0].host == "outer" && c.jumps[0].port == 22 &&
         c.jumps[0].user == local.user));
  const SshConfig& b = c.jumps[1];
  CHECK((b.name == "bastion" && b.host == "10.0.0.1" && b.port == 2022 && b.user == "jump"));
  CHECK(b.identity == (dir.path / "key").string());
  CHECK(b.known_hosts == local.home + "/kh_bastion");
  CHECK((c.jumps[2].name == "ops@inner:2200" && c.jumps[2].host == "10.1.0.1" && c.jumps[2].port == 2200 &&
         c.jumps[2].user == "ops" && c.jumps[2].known_hosts == "/default/known_hosts"));
  for (const auto& j : c.jumps) CHECK(j.jumps.empty());
  CHECK((c.host == "jumpy" && c.user == "root"));
}

TEST_CASE("ssh_config: a ProxyJump hop is read as ssh's parse_jump reads it") {
  auto hop = [](const std::string& text) {
    SshHop h = parse_jump_hop(text);
    return h.user + "|" + h.host + "|" + std::to_string(h.port);
  };
  CHECK(hop("bastion") == "|bastion|0");
  CHECK(hop("ops@bastion:2222") == "ops|bastion|2222");
  CHECK(hop("a@b@host") == "a@b|host|0");  // the last '@' splits
  CHECK(hop("[fe80::1]:22") == "|fe80::1|22");
  CHECK(hop("ssh://ops@bastion:2200") == "ops|bastion|2200");
  for (const char* bad : {"", "@host", "host:", "host:0", "host:99999", "host:2x", "[::1", "[::1]x", "u@"})
    CHECK_THROWS_AS(parse_jump_hop(bad), UsageError);
}
