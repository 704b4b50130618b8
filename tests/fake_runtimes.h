// A fake `docker`, `podman` and `ctr` first in PATH, answering from files
// a test writes (docker info, image inspect lines, a save archive, content
// blobs) and logging every call, for the tests of what the source's
// runtime is asked.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>

#include <catch2/catch.hpp>

#include "src/input/cli.h"
#include "tests/save_archives.h"

namespace fake_runtimes {

using namespace save_archives;

inline const char* const kFakeDocker = R"SH(#!/bin/sh
echo "docker $*" >>"$FAKE_RT/calls"
case "$1" in
  info) cat "$FAKE_RT/docker-info.json" ;;
  image) f="$FAKE_RT/inspect/$(echo "$5" | tr '/:' '__')"
         if [ -f "$f" ]; then cat "$f"; else echo "Error response from daemon: No such image: $5" >&2; exit 1; fi ;;
  save) if [ -f "$FAKE_RT/save.tar" ]; then cat "$FAKE_RT/save.tar"; else echo "no save expected" >&2; exit 1; fi ;;
  *) exit 2 ;;
esac
)SH";

inline const char* const kFakePodman = R"SH(#!/bin/sh
echo "podman $*" >>"$FAKE_RT/calls"
case "$1" in
  version) echo 4.3.1 ;;
  image) f="$FAKE_RT/inspect/$(echo "$5" | tr '/:' '__')"
         if [ -f "$f" ]; then cat "$f"; else echo "Error: $5: image not known" >&2; exit 125; fi ;;
  *) exit 2 ;;
esac
)SH";

inline const char* const kFakeCtr = R"SH(#!/bin/sh
echo "ctr $*" >>"$FAKE_RT/calls"
while [ $# -gt 0 ]; do case "$1" in --address|--namespace|--connect-timeout) shift 2 ;; *) break ;; esac; done
case "$1" in
  version) echo "Server: 1.7.24" ;;
  images) echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"; grep "^${3#name==} " "$FAKE_RT/ctr-images" || true ;;
  content) f="$FAKE_RT/blobs/${3#sha256:}"
           if [ -f "$f" ]; then cat "$f"; else echo "ctr: content digest $3: not found" >&2; exit 1; fi ;;
  *) exit 2 ;;
esac
)SH";

// A fake runtime world in a temp dir, first in PATH while it lives.
struct FakeRuntimes {
  TempDir dir{"fake-rt"};
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  fs::path bin = dir.path / "bin";

  FakeRuntimes() {
    fs::create_directories(bin);
    fs::create_directories(dir.path / "inspect");
    fs::create_directories(dir.path / "blobs");
    for (const auto& [name, text] : {std::pair<const char*, const char*>{"docker", kFakeDocker}, {"podman", kFakePodman}, {"ctr", kFakeCtr}}) {
      std::ofstream(bin / name) << text;
      fs::permissions(bin / name, fs::perms::owner_all);
    }
    ::setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
    ::setenv("FAKE_RT", dir.path.c_str(), 1);
    ::unsetenv("DOCKER_HOST");
    ::unsetenv("CONTAINERD_NAMESPACE");
  }
  ~FakeRuntimes() {
    ::setenv("PATH", old_path.c_str(), 1);
    ::unsetenv("FAKE_RT");
    ::unsetenv("CONTAINERD_ADDRESS");
  }
  void put(const fs::path& rel, const std::string& text) const { std::ofstream(dir.path / rel, std::ios::binary) << text; }
  void inspect(const std::string& ref, const std::string& out) const {
    std::string name = ref;
    std::replace(name.begin(), name.end(), '/', '_');
    std::replace(name.begin(), name.end(), ':', '_');
    put(fs::path("inspect") / name, out);
  }
  void blob(const std::string& content) const { put(fs::path("blobs") / hex(wire::sha256_digest(content)), content); }
  void docker_info(const std::string& driver_type, const std::string& extra = "") const {
    put("docker-info.json", R"({"ServerVersion":"26.1.5","DriverStatus":[["driver-type",")" + driver_type + "\"]]" +
                                extra + "}");
  }
  std::string calls() const { return slurp(dir.path / "calls"); }
  // A unix socket that exists (is_socket), for ctr's --address.
  std::string socket(const std::string& name) const {
    const std::string path = (dir.path / name).string();
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);
    return path;
  }
};

inline std::string inspect_line(const std::string& id, const std::vector<std::string>& diffs) {
  std::string j = "[";
  for (std::size_t i = 0; i < diffs.size(); ++i) j += (i ? ",\"" : "\"") + diffs[i] + "\"";
  return id + " " + j + "]\n";
}

inline treesync::Options options_for(const Cache& cache, const std::vector<std::string>& refs, const std::string& rt = "",
                              const std::string& ns = "") {
  treesync::Options o;
  o.images = refs;
  o.cache_dir = cache.root();
  o.source_runtime = rt;
  o.source_namespace = ns;
  return o;
}

}  // namespace fake_runtimes
