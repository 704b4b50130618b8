#include <unistd.h>

#include <iostream>

#include "src/cache/cache_lease.h"
#include "src/input/cli.h"
#include "src/errors.h"
#include "src/report/events.h"
#include "src/report/logging.h"
#include "src/report/progress.h"
#include "src/shutdown.h"
#include "src/ssh/ssh.h"
#include "src/delivery/activate.h"
#include "src/delivery/status.h"
#include "src/delivery/sync.h"

// How long a run waits for another to release the layer cache before it
// shares it (and does not prune it).
constexpr std::chrono::seconds kCacheWait{10};

namespace {

// A run stopped by an error still ends its event stream, so whoever
// follows it is not left waiting.
int stopped(int status, const std::string& why) {
  treesync::events::emit("run_finished", "",
                         {{"exit_status", status}, {"seconds", treesync::events::elapsed()}, {"source_bytes", nullptr},
                          {"outcomes", nullptr}, {"error", why}});
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace treesync;
  // Last: every path out of main (errors too) writes what is queued.
  struct CloseEvents {
    ~CloseEvents() { events::close(); }
  } close_events;
  install_shutdown_watcher();
  setup_logging(false, false, false, "");
  try {
    ParsedCommand cmd = parse_command_line(argc, argv);
    if (cmd.exit_now) {
      std::cout << cmd.output;
      return 0;
    }
    const Options& o = cmd.options;
    setup_logging(o.verbose, o.quiet, Progress::style_for(STDERR_FILENO, o.quiet) == Progress::Style::Live,
                  o.log_file);
    if (!o.events_path.empty()) events::open(o.events_path, cmd.command);
    ssh_global_init();
    if (cmd.command == "status") return run_status(o);
    if (cmd.command == "activate") return run_activate(o);  // sends no image: no cache
    // Held until exit: another run must not prune what this one sends.
    auto cache = CacheLease::open(o.cache_dir, o.cache_dir_default, kCacheWait);
    return run_sync(o);
  } catch (const UsageError& e) {
    std::cerr << "treesync: " << e.what() << "\n";
    return stopped(2, e.what());
  } catch (const std::exception& e) {
    std::cerr << "treesync: " << e.what() << "\n";
    return stopped(shutdown_exit_code() ? shutdown_exit_code() : 1, e.what());
  }
}
