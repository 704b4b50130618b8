// The relay's state directory on a node (~/.cache/treesync): where it is,
// the run directories in it, and removing them. The relay is fully static,
// so nothing here may go through glibc's NSS (getpwuid, gethostbyname).
#pragma once

#include <sys/types.h>

#include <string>

namespace relay {

// The home directory of `uid` in text laid out like /etc/passwd; "" if no
// line has that uid, or its home is empty.
std::string home_from_passwd(const std::string& passwd, uid_t uid);

// ~/.cache/treesync: $HOME, else the home /etc/passwd gives getuid(). Throws
// if neither does: guessing (/tmp) would share the directory with others.
std::string default_state_dir();

// This host's name as uname(2) gives it, fit for a file name.
std::string host_name();

// The mkdtemp template of a run directory of this process: run directories
// carry the host, since a home (and so this directory) may be shared by
// several hosts over NFS, where a PID means nothing on another host.
std::string run_dir_template(const std::string& state_dir, const std::string& host);

// Removes `path` and everything under it without following any symlink: a
// symlink, at the top or inside, is unlinked, never its target.
void remove_tree(const std::string& path);

// A relay killed with SIGKILL cannot clean up: removes the run directories
// of `host` whose process is gone. Other hosts' run directories are left
// alone: their PIDs cannot be checked from here.
void remove_stale_runs(const std::string& state_dir, const std::string& host);

}  // namespace relay
