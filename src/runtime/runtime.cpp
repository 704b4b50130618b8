#include "src/runtime/runtime.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <stdexcept>

#include "src/runtime/containerd.h"
#include "src/runtime/docker.h"
#include "src/runtime/podman.h"
#include "src/runtime/runtime_cli.h"
#include "src/runtime/subprocess.h"

namespace runtime {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::unique_ptr<Runtime> open_runtime(const wire::ProbeRequest& req) {
  const std::string socket = req.socket.empty() ? kContainerdSocket : req.socket;
  const std::string ns = req.ns.empty() ? kKubernetesNamespace : req.ns;
  const Access access = this_user(req.sudo);
  auto docker = [&] { return open_with_access([](const RuntimeCli& cli) { return open_docker(cli); }, "docker", access); };
  auto containerd = [&] {
    return open_with_access([&](const RuntimeCli& cli) { return open_containerd(socket, ns, cli); }, "ctr", access);
  };
  auto podman = [&] { return open_with_access([](const RuntimeCli& cli) { return open_podman(cli); }, "podman", access); };
  if (req.runtime == "docker") return docker();
  if (req.runtime == "containerd") return containerd();
  if (req.runtime == "podman") return podman();
  if (!req.runtime.empty()) throw std::runtime_error("unknown runtime '" + req.runtime + "'");
  // The first runtime installed, in this order, is the node's; one that is
  // installed but down is reported as down, never passed over for another
  // (a node whose Docker is stopped must not get the image into podman).
  if (installed("dockerd") || exists("/run/docker.sock") || exists("/var/run/docker.sock")) return docker();
  if (exists(socket) || installed("containerd")) return containerd();
  if (installed("podman")) return podman();
  throw std::runtime_error("no container runtime on this node: no dockerd, no containerd socket at " + socket +
                           ", no podman (a socket elsewhere goes in the inventory as containerd_socket)");
}

// ppc64le, s390x, riscv64 are named alike on both sides.
std::string normal_arch(const std::string& a) {
  if (a == "x86_64" || a == "x86-64") return "amd64";
  if (a == "aarch64") return "arm64";
  if (a == "i386" || a == "i486" || a == "i586" || a == "i686") return "386";
  if (a == "armhf" || a == "armel" || a.rfind("armv", 0) == 0) return "arm";
  if (a == "loongarch64") return "loong64";
  return a;
}

std::string node_arch() {
  struct utsname u;
  return ::uname(&u) == 0 ? normal_arch(u.machine) : "";
}

std::uint64_t free_bytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

bool same_filesystem(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

std::string familiar_name(const std::string& ref) {
  for (const char* prefix : {"docker.io/library/", "docker.io/"})
    if (ref.rfind(prefix, 0) == 0) return ref.substr(std::string(prefix).size());
  return ref;
}

// Docker's normalisation: a first component with no dot or colon (and not
// localhost) is a path on Docker Hub; one component is an official image.
std::string full_name(const std::string& ref) {
  std::size_t slash = ref.find('/');
  if (slash == std::string::npos) return "docker.io/library/" + ref;
  std::string first = ref.substr(0, slash);
  if (first.find_first_of(".:") == std::string::npos && first != "localhost") return "docker.io/" + ref;
  return ref;
}

// An executable `program` on PATH, or in the sbin folders a non-root
// login's PATH leaves out (Debian's dockerd is /usr/sbin/dockerd).
bool installed(const std::string& program) {
  const char* env = std::getenv("PATH");
  std::string path = std::string(env ? env : "/usr/bin:/bin") + ":/usr/local/sbin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(start, end - start);
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string image_id_of(const std::string& printed) {
  return printed.rfind("sha256:", 0) == 0 ? printed : "sha256:" + printed;
}

bool is_image_id(const std::string& s) {
  static const std::regex re("sha256:[0-9a-f]{64}");
  return std::regex_match(s, re);
}

bool is_plain_ref(const std::string& s) {
  static const std::regex re("[a-z0-9][A-Za-z0-9._/:@-]{0,254}");
  return std::regex_match(s, re);
}

void check_config_digest(const std::string& id) {
  if (!is_image_id(id)) throw std::runtime_error("refusing malformed image ID '" + id + "'");
}

std::vector<std::string> removable_names(const std::vector<std::string>& names, const std::vector<std::string>& refs,
                                         std::string (*as_listed)(const std::string&)) {
  std::vector<std::string> out;
  std::size_t kept = names.size();
  for (const auto& ref : refs) {
    check_ref(ref);
    if (std::find(names.begin(), names.end(), as_listed(ref)) == names.end()) continue;
    out.push_back(ref);
    --kept;
  }
  if (kept == 0) out.clear();
  return out;
}

void check_ref(const std::string& ref) {
  if (!is_plain_ref(ref)) throw std::runtime_error("refusing malformed image reference '" + ref + "'");
}

}  // namespace runtime
