#include "src/runtime/source_image.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "src/runtime/docker.h"
#include "src/runtime/runtime.h"
#include "src/wire/digest.h"

namespace runtime {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool is_socket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::vector<std::string> ctr(const SourceRuntime& rt, std::vector<std::string> args) {
  std::vector<std::string> argv = {"ctr", "--address", rt.address, "--namespace", rt.ns, "--connect-timeout", "5s"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> json_strings(const std::string& text) {
  std::vector<std::string> out;
  wire::Json j = wire::Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& x : j)
    if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

// `docker|podman image inspect --format '{{.Id}} {{json .RootFS.Layers}}'`.
SourceInspect inspect_with(const std::string& cli, const std::string& ref) {
  ProcessResult r = run_capture({cli, "image", "inspect", "--format", "{{.Id}} {{json .RootFS.Layers}}", ref});
  SourceInspect out;
  if (!r.ok()) {
    const std::string e = r.err;
    if (e.find("No such image") != std::string::npos || e.find("no such image") != std::string::npos ||
        e.find("image not known") != std::string::npos || e.find("failed to find image") != std::string::npos) {
      out.missing = cli == "docker"
                        ? "image " + ref + " is not in the local Docker (check with: docker images " + ref +
                              "; pull or build it first, e.g. docker pull " + ref + ")"
                        : "podman image inspect " + ref + ": no such image; build or pull it first (podman pull " +
                              ref + "), or pick another runtime with --source-runtime";
      return out;
    }
    throw std::runtime_error("cannot inspect local image " + ref + " with " + cli + ": " + r.last_line());
  }
  const std::size_t sp = r.out.find(' ');
  out.id = image_id_of(r.out.substr(0, r.out.find_first_of(" \n")));
  if (!is_image_id(out.id)) throw std::runtime_error(cli + " returned an unexpected ID '" + out.id + "' for " + ref);
  out.diff_ids = json_strings(sp == std::string::npos ? "" : r.out.substr(sp + 1));
  if (out.diff_ids.empty()) throw std::runtime_error(cli + " lists no layers for " + ref);
  out.found = true;
  return out;
}

SourceInspect inspect_containerd(const SourceRuntime& rt, const std::string& ref) {
  const std::string name = full_name(ref);
  ProcessResult r = run_capture(ctr(rt, {"images", "list", "name==" + name}));
  if (!r.ok()) throw std::runtime_error("ctr images list on " + rt.name() + " failed: " + r.last_line());
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);  // REF TYPE DIGEST SIZE PLATFORMS LABELS
  SourceInspect out;
  while (std::getline(lines, line)) {
    std::istringstream cols(line);
    std::string got, type, digest;
    cols >> got >> type >> digest;
    if (got != name) continue;
    if (!is_image_id(digest)) throw std::runtime_error("ctr images list gave an unexpected digest '" + digest + "' for " + name);
    out.found = true;
    out.id = digest;
    return out;
  }
  out.missing = "containerd (namespace " + rt.ns + ") has no image " + name + "; pull or import it first (ctr -n " +
                rt.ns + " images pull " + name + "), or give its namespace with --source-namespace";
  return out;
}

}  // namespace

std::string SourceRuntime::name() const {
  switch (kind) {
    case SourceKind::Docker: return "docker";
    case SourceKind::DockerContainerd: return "docker (containerd store)";
    case SourceKind::Podman: return "podman";
    case SourceKind::Containerd: return "containerd (namespace " + ns + ")";
  }
  return "?";
}

std::string SourceRuntime::list_hint(const std::string& ref) const {
  switch (kind) {
    case SourceKind::Podman: return "podman images " + ref;
    case SourceKind::Containerd: return "ctr -n " + ns + " images ls";
    default: return "docker images " + ref;
  }
}

SourceRuntime detect_source_runtime(const std::string& choice, const std::string& ns_choice) {
  SourceRuntime rt;
  auto containerd = [&]() {
    rt.kind = SourceKind::Containerd;
    rt.address = env_or("CONTAINERD_ADDRESS", kContainerdSocket);
    rt.ns = !ns_choice.empty() ? ns_choice : env_or("CONTAINERD_NAMESPACE", kKubernetesNamespace);
    if (!installed("ctr"))
      throw std::runtime_error("the source runtime containerd needs ctr, which is not on PATH (install containerd's ctr, "
                               "or pick another with --source-runtime)");
    if (!is_socket(rt.address))
      throw std::runtime_error("no containerd socket at " + rt.address + " (start containerd, set CONTAINERD_ADDRESS, "
                               "or pick another runtime with --source-runtime)");
    ProcessResult r = run_capture({"ctr", "--address", rt.address, "--connect-timeout", "5s", "version"});
    if (!r.ok())
      throw std::runtime_error("containerd at " + rt.address + " does not answer: " + r.last_line() +
                               " (start it, set CONTAINERD_ADDRESS, run as root, or pick another runtime with "
                               "--source-runtime)");
    return rt;
  };
  auto podman = [&]() {
    rt.kind = SourceKind::Podman;
    ProcessResult r = run_capture({"podman", "version", "--format", "{{.Client.Version}}"});
    if (!r.ok())
      throw std::runtime_error("podman does not answer: " + r.last_line() + " (pick another runtime with --source-runtime)");
    return rt;
  };
  auto docker = [&](const wire::Json& info) {
    rt.kind = image_store(info) == "containerd" ? SourceKind::DockerContainerd : SourceKind::Docker;
    rt.docker_root = info.value("DockerRootDir", "");
    rt.docker_driver = info.value("Driver", "");
    return rt;
  };
  if (choice == "containerd") return containerd();
  if (choice == "podman") {
    if (!installed("podman"))
      throw std::runtime_error("--source-runtime podman: podman is not on PATH (install it, or pick another runtime)");
    return podman();
  }
  wire::Json info;
  try {
    info = docker_info();
  } catch (const std::exception& e) {
    if (choice == "docker")
      throw std::runtime_error(std::string("local ") + e.what() +
                               " (start it: systemctl start docker; or set DOCKER_HOST; or pick another runtime "
                               "with --source-runtime)");
    if (installed("podman")) return podman();
    if (installed("ctr") && is_socket(env_or("CONTAINERD_ADDRESS", kContainerdSocket))) return containerd();
    throw std::runtime_error(std::string("no container runtime on the source: local ") + e.what() +
                             "; podman is not installed and no containerd answers at " +
                             env_or("CONTAINERD_ADDRESS", kContainerdSocket) +
                             " (start Docker: systemctl start docker, or set DOCKER_HOST; or pick a runtime with "
                             "--source-runtime)");
  }
  return docker(info);
}

SourceInspect inspect_source_image(const SourceRuntime& rt, const std::string& ref) {
  switch (rt.kind) {
    case SourceKind::Docker:
    case SourceKind::DockerContainerd: return inspect_with("docker", ref);
    case SourceKind::Podman: return inspect_with("podman", ref);
    case SourceKind::Containerd: return inspect_containerd(rt, ref);
  }
  throw std::logic_error("unknown source runtime");
}

std::vector<std::string> save_command(const SourceRuntime& rt, const std::vector<std::string>& ids) {
  std::vector<std::string> argv;
  if (rt.kind == SourceKind::Podman) {
    // docker-archive keeps podman's layers uncompressed; its oci-archive
    // gzips every layer. Several images need a multi-image archive.
    argv = {"podman", "save", "--format", "docker-archive"};
    if (ids.size() > 1) argv.push_back("--multi-image-archive");
  } else if (rt.kind == SourceKind::Containerd) {
    throw std::logic_error("containerd images are read with ctr content get, never saved");
  } else {
    argv = {"docker", "save"};
  }
  argv.insert(argv.end(), ids.begin(), ids.end());
  return argv;
}

std::string save_label(const SourceRuntime& rt) {
  return rt.kind == SourceKind::Podman ? "podman save" : rt.kind == SourceKind::Containerd ? "ctr content get" : "docker save";
}

bool find_docker_content(SourceRuntime& rt, const wire::Json& info, const std::string& digest) {
  if (!installed("ctr")) return false;
  std::vector<std::pair<std::string, std::string>> candidates;
  // Docker 25+ may say where its containerd is; else it is the one dockerd
  // starts itself or the system's (Docker CE's containerd.io), tried in the
  // order the relay tries them on nodes (src/runtime/docker.cpp).
  const wire::Json& c = info.value("Containerd", wire::Json());
  if (c.is_object() && c.value("Address", "") != "") {
    const wire::Json& n = c.value("Namespaces", wire::Json());
    candidates.emplace_back(c["Address"].get<std::string>(), n.is_object() ? n.value("Containers", "moby") : "moby");
  }
  candidates.emplace_back("/run/docker/containerd/containerd.sock", "moby");
  candidates.emplace_back(kContainerdSocket, "moby");
  for (const auto& [address, ns] : candidates) {
    if (!is_socket(address)) continue;
    SourceRuntime probe = rt;
    probe.address = address;
    probe.ns = ns;
    std::optional<std::string> blob;
    try {
      blob = content_get(probe, digest);
    } catch (const std::runtime_error&) {  // e.g. permission denied: not root
      continue;
    }
    if (blob && wire::sha256_digest(*blob) == digest) {
      rt.address = address;
      rt.ns = ns;
      return true;
    }
  }
  return false;
}

std::optional<std::string> content_get(const SourceRuntime& rt, const std::string& digest) {
  if (!is_image_id(digest)) throw std::runtime_error("refusing malformed digest '" + digest + "'");
  ProcessResult r = run_capture(ctr(rt, {"content", "get", digest}));
  if (r.ok()) return r.out;
  if (r.err.find("not found") != std::string::npos) return std::nullopt;
  throw std::runtime_error("ctr content get " + digest + " on " + rt.name() + " failed: " + r.last_line());
}

void content_stream(const SourceRuntime& rt, const std::string& digest, const OutputSink& sink) {
  if (!is_image_id(digest)) throw std::runtime_error("refusing malformed digest '" + digest + "'");
  ProcessResult r = run_capture(ctr(rt, {"content", "get", digest}), sink);
  if (!r.ok())
    throw std::runtime_error("ctr content get " + digest + " on " + rt.name() + " failed: " + r.last_line() +
                             (r.err.find("not found") != std::string::npos
                                  ? " (the runtime no longer holds this layer's compressed blob; pull the image again)"
                                  : ""));
}

}  // namespace runtime
