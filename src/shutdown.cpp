#include "src/shutdown.h"

#include <signal.h>
#include <unistd.h>

#include <thread>

namespace treesync {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

}  // namespace

void install_shutdown_watcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started later
  signal(SIGPIPE, SIG_IGN);
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (g_stop.exchange(true)) _exit(128 + sig);
      g_signal = sig;
      const char msg[] = "\ntreesync: stopping, closing relays on every node (again to quit at once)\n";
      (void)!::write(2, msg, sizeof msg - 1);
    }
  }).detach();
}

const std::atomic<bool>& shutdown_flag() { return g_stop; }

int shutdown_exit_code() { return g_signal ? 128 + g_signal : 0; }

}  // namespace treesync
