// What known_hosts says about one host, read the way OpenSSH reads it
// (plain and hashed names, [host]:port, wildcards, negation, @revoked).
// libssh2 only supplies the key the server offered; the verdict is ours,
// since libssh2's own check compares names with strcmp. The session offers
// the types known_hosts holds for the host first (DESIGN.md §9).
#pragma once

#include <string>
#include <vector>

namespace treesync {

// Key types ("ssh-ed25519", "ecdsa-sha2-nistp256", ...) recorded for host:port
// in the files, in file order, without repeats. A missing file adds none.
std::vector<std::string> known_key_types(const std::vector<std::string>& paths, const std::string& host, int port);

// Does one known_hosts host field ("a,b,|1|salt|hash,*.lan,!bad") name host?
// Names compare case-insensitively, as OpenSSH lowercases the host.
bool host_field_matches(const std::string& field, const std::string& host, int port);

enum class HostKeyVerdict {
  Match,          // a plain line for this host holds exactly this key
  Revoked,        // the key is on a @revoked line (whatever its names): refuse always
  Changed,        // lines for this host hold keys of this type, none this one
  CertAuthority,  // no plain line decides, a @cert-authority line names the host
  NotFound,       // no line for this host holds a key of this type
};

struct HostKeyCheck {
  HostKeyVerdict verdict;
  int line = 0;      // 1-based line that decided it (the first such); 0 for NotFound
  std::string file;  // check_host_key_files: the file of that line
};

// What the known_hosts text says of the key (type as "ssh-ed25519", blob as
// the raw SSH wire bytes, as libssh2_session_hostkey gives them) offered by
// host:port. Comments, blank and unparsable lines are skipped, as OpenSSH
// skips them; keys compare by their decoded bytes.
HostKeyCheck check_host_key(const std::string& known_hosts_text, const std::string& host, int port,
                            const std::string& key_type, const std::string& key_blob);

// The same over several files read as one, in order, as OpenSSH loads every
// UserKnownHostsFile and GlobalKnownHostsFile before it judges: a @revoked
// line in any of them refuses the key. A missing file reads as empty.
HostKeyCheck check_host_key_files(const std::vector<std::string>& paths, const std::string& host, int port,
                                  const std::string& key_type, const std::string& key_blob);

}  // namespace treesync
