// treesync-relay: the small static program treesync starts on each node over
// SSH. It speaks the wire protocol on stdin/stdout and exits, cleaning up its
// spool, when the channel closes or it is signalled.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "src/wire/protocol.h"
#include "relay/relay_session.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: a blocked read returns EINTR
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int usage() {
  std::fprintf(stderr, "usage: treesync-relay serve|cleanup --hash HEX [--spool-dir DIR]\n");
  return 2;
}

void remove_tree(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((dir + "/" + name).c_str());
    }
    closedir(d);
  }
  ::rmdir(dir.c_str());
}

// A relay killed with SIGKILL cannot clean up; the next one removes run
// directories whose owner process is gone.
void remove_stale_runs(const std::string& spool_dir) {
  DIR* d = opendir(spool_dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    unsigned long pid = 0;
    if (std::sscanf(e->d_name, "run-%lu-", &pid) == 1 && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 &&
        errno == ESRCH)
      remove_tree(spool_dir + "/" + e->d_name);
  }
  closedir(d);
}

std::string default_spool_dir() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/treesync";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::puts("treesync-relay protocol 2");
    return 0;
  }
  // cleanup: what a relay killed with SIGKILL left behind, then exit.
  const bool cleanup_only = argc >= 2 && std::strcmp(argv[1], "cleanup") == 0;
  if (argc < 2 || (!cleanup_only && std::strcmp(argv[1], "serve") != 0)) return usage();
  std::string expected_hash, spool_dir = default_spool_dir();
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--hash") == 0)
      expected_hash = argv[i + 1];
    else if (std::strcmp(argv[i], "--spool-dir") == 0)
      spool_dir = argv[i + 1];
    else
      return usage();
  }
  if (expected_hash.empty()) return usage();
  // The cached binary must be the one treesync shipped: refuse a damaged or
  // replaced file rather than run it.
  std::string actual = wire::file_hash_hex("/proc/self/exe");
  if (actual != expected_hash) {
    std::fprintf(stderr, "treesync-relay: binary hash %s does not match %s\n", actual.c_str(),
                 expected_hash.c_str());
    return 3;
  }

  umask(077);
  install_signals();
  ::mkdir(spool_dir.c_str(), 0700);
  remove_stale_runs(spool_dir);
  if (cleanup_only) return 0;
  std::string workdir = spool_dir + "/run-" + std::to_string(::getpid()) + "-XXXXXX";
  if (!mkdtemp(workdir.data())) {
    std::fprintf(stderr, "treesync-relay: cannot create %s: %s\n", workdir.c_str(), std::strerror(errno));
    return 1;
  }
  int rc = 0;
  try {
    relay::RelaySession session(0, 1, workdir, spool_dir, g_stop);
    session.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "treesync-relay: %s\n", e.what());
    rc = 1;
  }
  remove_tree(workdir);
  return rc;
}
