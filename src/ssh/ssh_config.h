// What OpenSSH's client config (~/.ssh/config, or `ssh -F FILE`) says of one
// host, read the way ssh(1) reads it (readconf.c) and with the values
// `ssh -G HOST` prints, for the options treesync uses. The core works on
// text plus a callback for Include, so it is tested without touching ~/.ssh;
// read_ssh_config is the thin part that reads real files.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace treesync {

// The local side, as ssh takes it from the passwd entry.
struct SshLocal {
  std::string user;  // default User, and %u
  std::string home;  // "~" and %d
};

struct SshHostConfig {
  std::string hostname;  // HostName with %h expanded, lowercased; else the host itself
  std::string user;      // User, else the local user
  int port = 22;
  // As written, "~" and %-tokens kept, as `ssh -G` prints them (ssh expands
  // them only when it loads keys): expand each with expand_ssh_path. With
  // no IdentityFile, ssh's default list.
  std::vector<std::string> identity_files;
  bool identities_only = false;
  std::vector<std::string> proxy_jump;  // hops in order ("user@host:port"); empty for none
  std::string proxy_command;  // ProxyCommand as written; empty for none
  std::vector<std::string> user_known_hosts_files;  // expanded
  // "ask" (the default), "yes", "accept-new" or "no" ("off"/"false" read as "no").
  std::string strict_host_key_checking = "ask";
  std::optional<int> connect_timeout;  // seconds; none unless set
  // The keywords (lowercase) the config set for this host, so a caller can
  // let its own explicit settings win and keep its own defaults otherwise.
  std::set<std::string> given;
};

// The files one Include pattern names (an absolute path, maybe with glob
// characters), in the sorted order glob(3) gives, each as {path, text}.
struct SshConfigFile {
  std::string path, text;
};
using SshIncludeReader = std::function<std::vector<SshConfigFile>(const std::string& pattern)>;

// Resolves host (as given on ssh's command line) through the config text
// read from `path` (named in errors only). Throws UsageError naming file and
// line for what ssh would refuse, and for Match criteria treesync cannot
// evaluate (exec, user, ...), rather than silently resolving differently.
SshHostConfig resolve_ssh_host(const std::string& config_text, const std::string& path, const std::string& host,
                               const SshLocal& local, const SshIncludeReader& include);

// "~/" and the tokens %h %p %r %u %d %% of value, as ssh expands
// IdentityFile and UserKnownHostsFile for the resolved host.
std::string expand_ssh_path(const std::string& value, const SshHostConfig& resolved, const SshLocal& local);

// One ProxyJump hop as ssh reads it (parse_jump): "[user@]host[:port]",
// "[user@][v6addr]:port" or "ssh://[user@]host[:port]". Empty user and port
// 0 when the hop names none (its own config decides). Throws UsageError.
struct SshHop {
  std::string user, host;
  int port = 0;
};
SshHop parse_jump_hop(const std::string& hop);

// The local user and home directory as ssh takes them (the passwd entry).
SshLocal ssh_local();

// resolve_ssh_host on the file at path, with Include read from disk.
SshHostConfig read_ssh_config(const std::string& path, const std::string& host, const SshLocal& local);

}  // namespace treesync
