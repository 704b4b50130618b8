#include "src/runtime/runtime_cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "src/runtime/runtime.h"

namespace runtime {
namespace {

// -n: fail rather than ask for a password nobody can type; --: the
// command's own options are never read as sudo's.
const std::vector<std::string> kSudo = {"sudo", "-n", "--"};

// What docker and ctr say when the socket's mode keeps the user out:
// "permission denied while trying to connect to the Docker daemon socket",
// "dial unix /run/containerd/containerd.sock: connect: permission denied".
bool permission_denied(const std::string& message) {
  return message.find("permission denied") != std::string::npos ||
         message.find("Permission denied") != std::string::npos;
}

// What the node's admin can do for `user`: the socket's group, where the
// runtime has one, or a sudoers rule for the runtime alone.
std::string both_fixes(const std::string& program, const std::string& user) {
  const std::string rule = "allow `sudo -n " + program + "` (NOPASSWD, that command only) and set sudo: true";
  if (program == "docker") return "add " + user + " to the docker group, or " + rule;
  if (program == "ctr") return "give " + user + " containerd's socket (its [grpc] gid), or " + rule;
  return rule + " (rootless podman keeps images of its own, not the node's)";
}

}  // namespace

std::vector<std::string> RuntimeCli::argv(const std::vector<std::string>& command) const {
  if (!sudo_) return command;
  std::vector<std::string> out = kSudo;
  out.insert(out.end(), command.begin(), command.end());
  return out;
}

std::string program_of(const std::vector<std::string>& argv) {
  const bool prefixed = argv.size() > kSudo.size() && std::equal(kSudo.begin(), kSudo.end(), argv.begin());
  return argv.empty() ? "" : argv[prefixed ? kSudo.size() : 0];
}

ProcessResult RuntimeCli::run(const std::vector<std::string>& command, const OutputSink& on_out) const {
  return run_capture(argv(command), on_out);
}

Access this_user(const std::string& sudo) {
  const char* user = std::getenv("USER");
  return {sudo, ::geteuid() == 0, user && *user ? user : "uid " + std::to_string(::getuid())};
}

std::unique_ptr<Runtime> open_with_access(const Opener& open, const std::string& program, const Access& a) {
  if (a.root) return open(RuntimeCli(false));
  const std::string as_user = "user " + a.user + " cannot use " + program + ": ";
  // Rootless podman answers, but with the user's own image store: only an
  // explicit sudo: false takes it.
  if (a.sudo == "no" || (a.sudo.empty() && program != "podman")) {
    try {
      return open(RuntimeCli(false));
    } catch (const std::exception& e) {
      if (!permission_denied(e.what())) throw;  // down, broken: not a matter of rights
      if (a.sudo == "no") throw std::runtime_error(as_user + both_fixes(program, a.user));
    }
  }
  try {
    return open(RuntimeCli(true));
  } catch (const std::exception& e) {
    if (a.sudo == "yes")
      throw std::runtime_error(as_user + "`sudo -n " + program + "` fails (" + e.what() + "); " +
                               both_fixes(program, a.user));
    throw std::runtime_error(as_user + both_fixes(program, a.user));
  }
}

}  // namespace runtime
