// How the relay runs the node's runtime programs (docker, ctr, podman): as
// the SSH user, or through `sudo -n` for a user the node lets run only that
// program as root. Every runtime command of the relay goes through one
// RuntimeCli, so the prefix is added in one place and is a fixed argv (never
// a shell line): sudoers can allow exactly the runtime and nothing else.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/runtime/subprocess.h"

namespace runtime {

class Runtime;

class RuntimeCli {
 public:
  explicit RuntimeCli(bool sudo = false) : sudo_(sudo) {}
  bool sudo() const { return sudo_; }
  // `command` as it is run: `sudo -n -- command...` or `command...`.
  std::vector<std::string> argv(const std::vector<std::string>& command) const;
  ProcessResult run(const std::vector<std::string>& command, const OutputSink& on_out = nullptr) const;

 private:
  bool sudo_;
};

// The program an argv of RuntimeCli::argv runs (docker, not sudo): for messages.
std::string program_of(const std::vector<std::string>& argv);

// The inventory's `sudo:` for a node: "yes", "no", or "" to detect.
struct Access {
  std::string sudo;
  bool root = false;  // root runs the runtime as itself, whatever `sudo` says
  std::string user;   // for the one line that says what to set up
};

// The user running this relay, for messages: $USER as sshd sets it (a static
// relay cannot ask NSS), else the uid.
Access this_user(const std::string& sudo);

// Opens a runtime (`open` with the RuntimeCli to use) the way this user may
// use it. Root: as itself. sudo "yes": through sudo. Otherwise as the user;
// when that is refused for want of permission (or `program` is podman, whose
// rootless store is not the node's images) and sudo is not "no", through
// `sudo -n` if that works. A user who can do neither gets one line naming
// both fixes.
using Opener = std::function<std::unique_ptr<Runtime>(const RuntimeCli&)>;
std::unique_ptr<Runtime> open_with_access(const Opener& open, const std::string& program, const Access& access);

}  // namespace runtime
