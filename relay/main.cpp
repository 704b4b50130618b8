// treesync-relay: the small static program treesync starts on each node over
// SSH. It speaks the wire protocol on stdin/stdout and exits, cleaning up its
// spool, when the channel closes or it is signalled.
#include <malloc.h>
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
#include "relay/state_dir.h"

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

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::puts("treesync-relay protocol 2");
    return 0;
  }
  // cleanup: what a relay killed with SIGKILL left behind, then exit.
  const bool cleanup_only = argc >= 2 && std::strcmp(argv[1], "cleanup") == 0;
  if (argc < 2 || (!cleanup_only && std::strcmp(argv[1], "serve") != 0)) return usage();
  std::string expected_hash, spool_dir;
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

  try {
    if (spool_dir.empty()) spool_dir = relay::default_state_dir();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "treesync-relay: %s\n", e.what());
    return 1;
  }

  umask(077);
  // Every connection has a thread for its handshake; glibc would give each
  // up to 64 MiB of address space in arenas of its own.
  mallopt(M_ARENA_MAX, 2);
  install_signals();
  ::mkdir(spool_dir.c_str(), 0700);
  const std::string host = relay::host_name();
  relay::remove_stale_runs(spool_dir, host);
  if (cleanup_only) return 0;
  std::string workdir = relay::run_dir_template(spool_dir, host);
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
  relay::remove_tree(workdir);
  return rc;
}
