#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "src/cli.h"
#include "src/errors.h"
#include "src/shutdown.h"
#include "src/ssh.h"
#include "src/sync.h"

int main(int argc, char** argv) {
  using namespace treesync;
  install_shutdown_watcher();
  spdlog::set_default_logger(spdlog::stderr_color_mt("treesync"));
  spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
  try {
    ParsedCommand cmd = parse_command_line(argc, argv);
    if (cmd.exit_now) {
      std::cout << cmd.output;
      return 0;
    }
    spdlog::set_level(cmd.options.verbose ? spdlog::level::debug : spdlog::level::info);
    ssh_global_init();
    return run_sync(cmd.options);
  } catch (const UsageError& e) {
    std::cerr << "treesync: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "treesync: " << e.what() << "\n";
    return 1;
  }
}
