// What known_hosts says about one host, read the way OpenSSH reads it
// (plain and hashed names, [host]:port, wildcards, negation). libssh2 only
// matches keys of the type it negotiated, so the session must offer the
// types known_hosts holds for the host first (DESIGN.md §9).
#pragma once

#include <string>
#include <vector>

namespace treesync {

// Key types ("ssh-ed25519", "ecdsa-sha2-nistp256", ...) recorded for host:port,
// in file order, without repeats. A missing file gives an empty list.
std::vector<std::string> known_key_types(const std::string& known_hosts_path, const std::string& host, int port);

// Does one known_hosts host field ("a,b,|1|salt|hash,*.lan,!bad") name host?
bool host_field_matches(const std::string& field, const std::string& host, int port);

}  // namespace treesync
